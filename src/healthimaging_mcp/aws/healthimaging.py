"""HealthImaging as typed methods: every call paced, None arguments left out, failures raised as typed errors.

Tools call these methods, never boto3: one place waits for `--local`'s sample data, spaces the operations
HealthImaging throttles hard, and turns botocore failures (also while a response body is read) into
`HealthImagingError`. Listings that tools read to the end use boto3's paginators.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .clients import ClientFactory
from .errors import from_aws
from .pacing import Pacer

if TYPE_CHECKING:
    from mypy_boto3_medical_imaging import HealthImagingClient
    from mypy_boto3_medical_imaging.literals import DatastoreStatusType, JobStatusType, LosslessStorageFormatType
    from mypy_boto3_medical_imaging.type_defs import (
        CopyImageSetInformationTypeDef,
        CopyImageSetResponseTypeDef,
        CreateDatastoreResponseTypeDef,
        DatastorePropertiesTypeDef,
        DatastoreSummaryTypeDef,
        DeleteDatastoreResponseTypeDef,
        DeleteImageSetResponseTypeDef,
        DICOMImportJobPropertiesTypeDef,
        GetImageSetResponseTypeDef,
        ImageSetPropertiesTypeDef,
        ImageSetsMetadataSummaryTypeDef,
        ImportConfigurationTypeDef,
        ListDatastoresResponseTypeDef,
        ListDICOMImportJobsResponseTypeDef,
        ListImageSetVersionsResponseTypeDef,
        MetadataUpdatesTypeDef,
        SearchImageSetsResponseTypeDef,
        StartDICOMImportJobResponseTypeDef,
        UpdateImageSetMetadataResponseTypeDef,
    )

    from ..deploy.telemetry import Telemetry

log = logging.getLogger(__name__)

T = TypeVar("T")


def _given(**params: Any) -> dict[str, Any]:
    """The optional parameters that have a value (boto3 refuses None)."""
    return {name: value for name, value in params.items() if value is not None}


def _retries(outcome: object) -> int:
    """The retries botocore made before a response or error (its ResponseMetadata.RetryAttempts)."""
    response = getattr(outcome, "response", outcome)  # a ClientError carries the parsed error response
    metadata = response.get("ResponseMetadata") if isinstance(response, dict) else None
    return int(metadata.get("RetryAttempts", 0)) if isinstance(metadata, dict) else 0


class HealthImaging:
    """The HealthImaging operations the tools use, on the shared boto3 client."""

    def __init__(
        self,
        clients: ClientFactory,
        pacer: Pacer,
        ready: Callable[[], None] | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.clients = clients
        self.pacer = pacer
        self.ready = ready  # called before every call: --local waits for its sample data here
        self.telemetry = telemetry

    def _call(self, operation: str, call: Callable[[HealthImagingClient], T]) -> T:
        if self.ready is not None:
            self.ready()
        waited = self.pacer.wait(operation)
        if waited:
            log.info("paced %s for %.1fs", operation, waited)
        started = time.perf_counter()
        try:
            result = call(self.clients.medical_imaging())
        except Exception as exc:
            error = from_aws(exc)
            if self.telemetry is not None:
                self.telemetry.aws_call(operation, time.perf_counter() - started, error.error_type.value, _retries(exc))
            raise error from exc
        if self.telemetry is not None:
            self.telemetry.aws_call(operation, time.perf_counter() - started, None, _retries(result))
        return result

    # ------------------------------------------------------------------ datastores

    def list_datastores(
        self,
        status: DatastoreStatusType | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> ListDatastoresResponseTypeDef:
        params = _given(datastoreStatus=status, maxResults=max_results, nextToken=next_token)
        return self._call("list_datastores", lambda client: client.list_datastores(**params))

    def all_datastores(self, status: DatastoreStatusType) -> list[DatastoreSummaryTypeDef]:
        """Every datastore in `status`, all pages."""

        def read(client: HealthImagingClient) -> list[DatastoreSummaryTypeDef]:
            pages = client.get_paginator("list_datastores").paginate(
                datastoreStatus=status, PaginationConfig={"PageSize": 50}
            )
            return [summary for page in pages for summary in page["datastoreSummaries"]]

        return self._call("list_datastores", read)

    def get_datastore(self, datastore_id: str) -> DatastorePropertiesTypeDef:
        response = self._call("get_datastore", lambda client: client.get_datastore(datastoreId=datastore_id))
        return response["datastoreProperties"]

    def create_datastore(
        self,
        name: str | None = None,
        lossless_storage_format: LosslessStorageFormatType | None = None,
        kms_key_arn: str | None = None,
        lambda_authorizer_arn: str | None = None,
        tags: Mapping[str, str] | None = None,
        client_token: str | None = None,
    ) -> CreateDatastoreResponseTypeDef:
        params = _given(
            datastoreName=name,
            losslessStorageFormat=lossless_storage_format,
            kmsKeyArn=kms_key_arn,
            lambdaAuthorizerArn=lambda_authorizer_arn,
            tags=tags,
            clientToken=client_token,  # boto3 makes one when none is given
        )
        return self._call("create_datastore", lambda client: client.create_datastore(**params))

    def delete_datastore(self, datastore_id: str) -> DeleteDatastoreResponseTypeDef:
        return self._call("delete_datastore", lambda client: client.delete_datastore(datastoreId=datastore_id))

    # ------------------------------------------------------------------ image sets

    def search_image_sets(
        self,
        datastore_id: str,
        criteria: Mapping[str, Any],
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> SearchImageSetsResponseTypeDef:
        params = _given(searchCriteria=criteria, maxResults=max_results, nextToken=next_token)
        return self._call(
            "search_image_sets", lambda client: client.search_image_sets(datastoreId=datastore_id, **params)
        )

    def search_all_image_sets(
        self, datastore_id: str, criteria: Mapping[str, Any], *, page_size: int, max_items: int
    ) -> list[ImageSetsMetadataSummaryTypeDef]:
        """The image sets matching `criteria`, following pages up to `max_items`."""

        def read(client: HealthImagingClient) -> list[ImageSetsMetadataSummaryTypeDef]:
            pages = client.get_paginator("search_image_sets").paginate(
                datastoreId=datastore_id,
                **_given(searchCriteria=criteria),
                PaginationConfig={"PageSize": page_size, "MaxItems": max_items},
            )
            return [summary for page in pages for summary in page["imageSetsMetadataSummaries"]]

        return self._call("search_image_sets", read)

    def get_image_set(
        self, datastore_id: str, image_set_id: str, version_id: str | None = None
    ) -> GetImageSetResponseTypeDef:
        params = _given(versionId=version_id)
        return self._call(
            "get_image_set",
            lambda client: client.get_image_set(datastoreId=datastore_id, imageSetId=image_set_id, **params),
        )

    def get_image_set_metadata(self, datastore_id: str, image_set_id: str, version_id: str) -> bytes:
        """The metadata document of one version as stored (gzip-compressed JSON)."""

        def read(client: HealthImagingClient) -> bytes:
            response = client.get_image_set_metadata(
                datastoreId=datastore_id, imageSetId=image_set_id, versionId=version_id
            )
            return response["imageSetMetadataBlob"].read()

        return self._call("get_image_set_metadata", read)

    def list_image_set_versions(
        self,
        datastore_id: str,
        image_set_id: str,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> ListImageSetVersionsResponseTypeDef:
        params = _given(maxResults=max_results, nextToken=next_token)
        return self._call(
            "list_image_set_versions",
            lambda client: client.list_image_set_versions(datastoreId=datastore_id, imageSetId=image_set_id, **params),
        )

    def all_image_set_versions(self, datastore_id: str, image_set_id: str) -> list[ImageSetPropertiesTypeDef]:
        """Every version of an image set, all pages."""

        def read(client: HealthImagingClient) -> list[ImageSetPropertiesTypeDef]:
            pages = client.get_paginator("list_image_set_versions").paginate(
                datastoreId=datastore_id, imageSetId=image_set_id
            )
            return [version for page in pages for version in page["imageSetPropertiesList"]]

        return self._call("list_image_set_versions", read)

    def get_image_frame(self, datastore_id: str, image_set_id: str, frame_id: str) -> tuple[bytes, str | None]:
        """One frame as stored, and its content type."""

        def read(client: HealthImagingClient) -> tuple[bytes, str | None]:
            response = client.get_image_frame(
                datastoreId=datastore_id,
                imageSetId=image_set_id,
                imageFrameInformation={"imageFrameId": frame_id},
            )
            return response["imageFrameBlob"].read(), response.get("contentType")

        return self._call("get_image_frame", read)

    def update_image_set_metadata(
        self,
        datastore_id: str,
        image_set_id: str,
        latest_version_id: str,
        updates: MetadataUpdatesTypeDef,
        *,
        force: bool = False,
        include_study_image_sets: bool = False,
    ) -> UpdateImageSetMetadataResponseTypeDef:
        params = _given(force=force or None, includeStudyImageSets=include_study_image_sets or None)
        return self._call(
            "update_image_set_metadata",
            lambda client: client.update_image_set_metadata(
                datastoreId=datastore_id,
                imageSetId=image_set_id,
                latestVersionId=latest_version_id,
                updateImageSetMetadataUpdates=updates,
                **params,
            ),
        )

    def copy_image_set(
        self,
        datastore_id: str,
        source_image_set_id: str,
        information: CopyImageSetInformationTypeDef,
        *,
        force: bool = False,
        promote_to_primary: bool = False,
    ) -> CopyImageSetResponseTypeDef:
        params = _given(force=force or None, promoteToPrimary=promote_to_primary or None)
        return self._call(
            "copy_image_set",
            lambda client: client.copy_image_set(
                datastoreId=datastore_id,
                sourceImageSetId=source_image_set_id,
                copyImageSetInformation=information,
                **params,
            ),
        )

    def delete_image_set(self, datastore_id: str, image_set_id: str) -> DeleteImageSetResponseTypeDef:
        return self._call(
            "delete_image_set",
            lambda client: client.delete_image_set(datastoreId=datastore_id, imageSetId=image_set_id),
        )

    # ------------------------------------------------------------------ import jobs

    def start_dicom_import_job(
        self,
        datastore_id: str,
        input_s3_uri: str,
        output_s3_uri: str,
        data_access_role_arn: str,
        *,
        job_name: str | None = None,
        input_owner_account_id: str | None = None,
        configuration: ImportConfigurationTypeDef | None = None,
        client_token: str | None = None,
    ) -> StartDICOMImportJobResponseTypeDef:
        params = _given(
            jobName=job_name,
            inputOwnerAccountId=input_owner_account_id,
            importConfiguration=configuration,
            clientToken=client_token,  # boto3 makes one when none is given
        )
        return self._call(
            "start_dicom_import_job",
            lambda client: client.start_dicom_import_job(
                datastoreId=datastore_id,
                inputS3Uri=input_s3_uri,
                outputS3Uri=output_s3_uri,
                dataAccessRoleArn=data_access_role_arn,
                **params,
            ),
        )

    def get_dicom_import_job(self, datastore_id: str, job_id: str) -> DICOMImportJobPropertiesTypeDef:
        response = self._call(
            "get_dicom_import_job", lambda client: client.get_dicom_import_job(datastoreId=datastore_id, jobId=job_id)
        )
        return response["jobProperties"]

    def list_dicom_import_jobs(
        self,
        datastore_id: str,
        status: JobStatusType | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> ListDICOMImportJobsResponseTypeDef:
        params = _given(jobStatus=status, maxResults=max_results, nextToken=next_token)
        return self._call(
            "list_dicom_import_jobs", lambda client: client.list_dicom_import_jobs(datastoreId=datastore_id, **params)
        )

    # ------------------------------------------------------------------ tags

    def list_tags_for_resource(self, resource_arn: str) -> dict[str, str]:
        response = self._call(
            "list_tags_for_resource", lambda client: client.list_tags_for_resource(resourceArn=resource_arn)
        )
        return response["tags"]

    def tag_resource(self, resource_arn: str, tags: Mapping[str, str]) -> None:
        self._call("tag_resource", lambda client: client.tag_resource(resourceArn=resource_arn, tags=tags))

    def untag_resource(self, resource_arn: str, tag_keys: Sequence[str]) -> None:
        self._call("untag_resource", lambda client: client.untag_resource(resourceArn=resource_arn, tagKeys=tag_keys))
