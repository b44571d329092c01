"""Import jobs from moto S3: job states, the S3 output tree, per-file failures, re-imports, non-primary image sets."""

from __future__ import annotations

import io
import json
import re
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.uid import JPEGLSLossless

from healthimaging_mcp.local.service import LocalService
from tests.support.dicom_files import part10
from tests.support.local_kit import Store
from tests.support.local_testdata import CORRUPT_DICOM, NOT_DICOM, SeriesSpec, encapsulated_instance, series
from tests.support.samples import write_samples

ROLE = "arn:aws:iam::123456789012:role/HealthImagingImportRole"
PRIVATE_SYNTAX = "1.3.6.1.4.1.9590.100.1.2.999"  # a vendor's private compression: no decoder here


def new_bucket(s3: Any) -> str:
    name = f"import-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def start(store: Store, bucket: str, input_prefix: str = "input/", **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = store.client.start_dicom_import_job(
        datastoreId=store.datastore_id,
        dataAccessRoleArn=ROLE,
        inputS3Uri=f"s3://{bucket}/{input_prefix}",
        outputS3Uri=f"s3://{bucket}/output/",
        **extra,
    )
    return response


def wait_for(store: Store, job_id: str, seen: list[str] | None = None, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        props: dict[str, Any] = store.client.get_dicom_import_job(datastoreId=store.datastore_id, jobId=job_id)[
            "jobProperties"
        ]
        if seen is not None and (not seen or seen[-1] != props["jobStatus"]):
            seen.append(props["jobStatus"])
        if props["jobStatus"] in ("COMPLETED", "FAILED"):
            return props
        assert time.monotonic() < deadline, f"job still {props['jobStatus']}"
        time.sleep(0.02)


def read_json(s3: Any, uri: str) -> Any:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def read_ndjson(s3: Any, uri: str) -> list[dict[str, Any]]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def upload(s3: Any, bucket: str, files: dict[str, bytes]) -> None:
    for key, body in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def test_import_job_writes_the_output_tree_and_fails_bad_files_alone(
    fresh_service: LocalService, moto_s3: Any, tmp_path: Path
) -> None:
    store = Store(fresh_service)
    bucket = new_bucket(moto_s3)
    root = tmp_path / "samples"
    written = write_samples(root, n_ct_slices=4)
    files = {f"input/{p.relative_to(root).as_posix()}": p.read_bytes() for p in written}
    damaged = encapsulated_instance(SeriesSpec(key="damaged"), 1, JPEGLSLossless, [b"\xff\xd8 not a codestream"])
    bad = {
        "input/broken/corrupt.dcm": CORRUPT_DICOM,
        "input/broken/report.pdf": NOT_DICOM,
        "input/damaged/pixels.dcm": part10(damaged),
    }
    opaque = encapsulated_instance(SeriesSpec(key="opaque"), 1, PRIVATE_SYNTAX, [b"frame bytes we cannot decode"])
    buffer = io.BytesIO()
    opaque.save_as(buffer, enforce_file_format=True, implicit_vr=False, little_endian=True)
    files["input/opaque/pixels.dcm"] = buffer.getvalue()
    upload(moto_s3, bucket, {**files, **bad})

    started = start(store, bucket, jobName="samples-import")
    assert started["jobStatus"] == "SUBMITTED" and started["datastoreId"] == store.datastore_id
    assert re.fullmatch(r"[0-9a-z]{32}", started["jobId"]) and isinstance(started["submittedAt"], datetime)
    seen: list[str] = []
    props = wait_for(store, started["jobId"], seen)
    assert props["jobStatus"] == "COMPLETED", props.get("message")
    assert seen[-1] == "COMPLETED" and set(seen) <= {"SUBMITTED", "IN_PROGRESS", "COMPLETED"}
    folder = f"s3://{bucket}/output/{store.datastore_id}-DicomImport-{started['jobId']}/"
    assert props["outputS3Uri"] == folder
    assert props["inputS3Uri"] == f"s3://{bucket}/input/"
    assert (props["jobName"], props["dataAccessRoleArn"]) == ("samples-import", ROLE)
    assert isinstance(props["endedAt"], datetime) and props["endedAt"] >= props["submittedAt"]

    summary = read_json(moto_s3, folder + "job-output-manifest.json")["jobSummary"]
    assert summary["jobId"] == started["jobId"] and summary["datastoreId"] == store.datastore_id
    assert summary["outputS3Uri"] == folder
    assert summary["successOutputS3Uri"] == folder + "SUCCESS/"
    assert summary["failureOutputS3Uri"] == folder + "FAILURE/"
    assert summary["warningsOutputS3Uri"] == folder + "WARNING/"
    assert summary["numberOfScannedFiles"] == len(files) + len(bad)
    assert summary["numberOfImportedFiles"] == len(files)
    assert summary["numberOfFilesWithCustomerError"] == len(bad)
    assert summary["numberOfFilesWithServerError"] == 0
    image_sets = summary["imageSetsSummary"]
    assert summary["numberOfGeneratedImageSets"] == len(image_sets) == 20
    assert sum(s["numberOfMatchedSOPInstances"] for s in image_sets) == len(files)
    assert all(s["imageSetVersion"] == 1 and s["isPrimary"] is True for s in image_sets)

    successes = read_ndjson(moto_s3, folder + "SUCCESS/success.ndjson")
    assert sorted(line["inputFile"] for line in successes) == sorted(files)
    assert {line["importResponse"]["imageSetId"] for line in successes} == {s["imageSetId"] for s in image_sets}
    failures = read_ndjson(moto_s3, folder + "FAILURE/failure.ndjson")
    assert sorted(line["inputFile"] for line in failures) == sorted(bad)
    reasons = {line["inputFile"]: line["exception"]["message"] for line in failures}
    assert {line["exception"]["exceptionType"] for line in failures} == {"ValidationException"}
    assert reasons["input/damaged/pixels.dcm"] == (
        "Frame 1 of 1 of the Pixel Data cannot be decoded as JPEG-LS Lossless Image Compression; the file is damaged"
    )
    assert "Not a DICOM Part 10 file" in reasons["input/broken/report.pdf"]
    assert all("force" not in reason for reason in reasons.values())
    (warning,) = read_ndjson(moto_s3, folder + "WARNING/warning.ndjson")
    assert warning["inputFile"] == "input/opaque/pixels.dcm"
    (reason,) = warning["importResponse"]["warnings"]
    assert (reason["type"], reason["warning_reason_code"]) == ("TRANSCODING_EXCEPTION", 45312)
    kept_id = warning["importResponse"]["imageSetId"]
    kept = store.metadata(kept_id)["Study"]["Series"][opaque.SeriesInstanceUID]["Instances"][opaque.SOPInstanceUID]
    assert kept["StoredTransferSyntaxUID"] == PRIVATE_SYNTAX
    (frame,) = kept["ImageFrames"]
    assert "PixelDataChecksumFromBaseToFullResolution" not in frame
    assert store.frame(kept_id, frame["ID"])["imageFrameBlob"].read() == opaque.PixelData

    searched = store.search()
    assert {s["imageSetId"] for s in searched} == {s["imageSetId"] for s in image_sets}
    (listed,) = store.client.list_dicom_import_jobs(datastoreId=store.datastore_id)["jobSummaries"]
    assert listed["jobId"] == started["jobId"] and listed["jobStatus"] == "COMPLETED"
    assert "inputS3Uri" not in listed and "outputS3Uri" not in listed


def test_start_import_job_is_idempotent_per_client_token(fresh_service: LocalService, moto_s3: Any) -> None:
    store = Store(fresh_service)
    bucket = new_bucket(moto_s3)
    first = start(store, bucket, clientToken="import-token")
    again = start(store, bucket, clientToken="import-token")
    assert again["jobId"] == first["jobId"] and again["submittedAt"] == first["submittedAt"]
    with pytest.raises(store.client.exceptions.ConflictException):
        start(store, bucket, input_prefix="elsewhere/", clientToken="import-token")
    wait_for(store, first["jobId"])
    assert len(store.client.list_dicom_import_jobs(datastoreId=store.datastore_id)["jobSummaries"]) == 1


def test_a_missing_input_bucket_fails_the_job_with_a_message(fresh_service: LocalService, moto_s3: Any) -> None:
    store = Store(fresh_service)
    started = store.client.start_dicom_import_job(
        datastoreId=store.datastore_id,
        dataAccessRoleArn=ROLE,
        inputS3Uri="s3://bucket-that-does-not-exist/in/",
        outputS3Uri="s3://bucket-that-does-not-exist/out/",
    )
    props = wait_for(store, started["jobId"])
    assert props["jobStatus"] == "FAILED"
    assert "inputS3Uri" in props["message"] and "NoSuchBucket" in props["message"]
    assert isinstance(props["endedAt"], datetime)
    (listed,) = store.client.list_dicom_import_jobs(datastoreId=store.datastore_id, jobStatus="FAILED")["jobSummaries"]
    assert listed["message"] == props["message"]


def test_import_into_a_datastore_that_is_not_active_is_refused(fresh_service: LocalService, moto_s3: Any) -> None:
    store = Store(fresh_service)
    store.client.delete_datastore(datastoreId=store.datastore_id)
    with pytest.raises(store.client.exceptions.ResourceNotFoundException):
        start(store, "any-bucket")


def test_reimports_merge_and_conflicting_files_go_to_a_non_primary_image_set(
    fresh_service: LocalService, moto_s3: Any
) -> None:
    store = Store(fresh_service)
    bucket = new_bucket(moto_s3)
    spec = SeriesSpec()
    upload(moto_s3, bucket, {f"input/{ds.SOPInstanceUID}.dcm": part10(ds) for ds in series(spec, 3)})
    first = read_json(
        moto_s3, wait_for(store, start(store, bucket)["jobId"])["outputS3Uri"] + "job-output-manifest.json"
    )
    (primary,) = first["jobSummary"]["imageSetsSummary"]
    assert (primary["imageSetVersion"], primary["isPrimary"], primary["numberOfMatchedSOPInstances"]) == (1, True, 3)

    again = wait_for(store, start(store, bucket)["jobId"])
    (merged,) = read_json(moto_s3, again["outputS3Uri"] + "job-output-manifest.json")["jobSummary"]["imageSetsSummary"]
    assert (merged["imageSetId"], merged["imageSetVersion"], merged["isPrimary"]) == (primary["imageSetId"], 2, True)
    (summary,) = store.search()
    assert summary["version"] == 2
    assert summary["DICOMTags"]["DICOMNumberOfStudyRelatedInstances"] == 3
    instances = store.metadata(primary["imageSetId"])["Study"]["Series"][spec.series_uid]["Instances"]
    assert sorted(instances) == sorted(spec.sop_uid(n) for n in (1, 2, 3))

    other_patient = SeriesSpec(patient_id="PAT-SOMEONE-ELSE")
    conflicting = series(other_patient, 1, start=4)
    upload(moto_s3, bucket, {f"conflict/{ds.SOPInstanceUID}.dcm": part10(ds) for ds in conflicting})
    job = wait_for(store, start(store, bucket, input_prefix="conflict/")["jobId"])
    (side,) = read_json(moto_s3, job["outputS3Uri"] + "job-output-manifest.json")["jobSummary"]["imageSetsSummary"]
    assert side["isPrimary"] is False and side["imageSetId"] != primary["imageSetId"]
    (line,) = read_ndjson(moto_s3, job["outputS3Uri"] + "SUCCESS/success.ndjson")
    assert line["importResponse"]["isPrimary"] is False
    assert store.image_set(side["imageSetId"])["isPrimary"] is False
    assert store.image_set(primary["imageSetId"])["isPrimary"] is True
    non_primary = store.search(filters=[{"operator": "EQUAL", "values": [{"isPrimary": False}]}])
    assert [s["imageSetId"] for s in non_primary] == [side["imageSetId"]]
    assert non_primary[0]["isPrimary"] is False
    assert non_primary[0]["DICOMTags"]["DICOMPatientId"] == "PAT-SOMEONE-ELSE"
    assert store.search()[0]["version"] in (1, 2)
    assert len(store.search()) == 2


# pydicom's bundled files: native (single and multi-frame), JPEG transcoded, JPEG kept as is (multi-frame), RLE.
TRUNCATION_SOURCES = ("CT_small.dcm", "rtdose.dcm", "JPEG-lossy.dcm", "examples_ybr_color.dcm", "SC_rgb_rle_2frame.dcm")


def truncated_copies(data: bytes) -> dict[str, bytes]:
    """Copies cut short inside Pixel Data (mid-value), and the first / all but the last 3,000 bytes."""
    element: object = pydicom.dcmread(io.BytesIO(data)).get_item("PixelData")
    assert isinstance(element, RawDataElement)  # not read yet: where its value starts is known
    assert element.value is not None
    cuts = {"mid-pixels": data[: element.value_tell + len(element.value) // 2]}
    if len(data) > 6000:
        cuts |= {"first-3000": data[:3000], "minus-3000": data[:-3000]}
    return cuts


def frames_of(store: Store, image_set_id: str) -> dict[str, bytes]:
    document = store.metadata(image_set_id)
    return {
        frame["ID"]: store.frame(image_set_id, frame["ID"])["imageFrameBlob"].read()
        for series_obj in document["Study"]["Series"].values()
        for instance in series_obj["Instances"].values()
        for frame in instance.get("ImageFrames", [])
    }


@pytest.mark.filterwarnings("ignore:End of file reached before delimiter")
def test_truncated_copies_fail_alone_and_never_change_the_stored_image_sets(
    fresh_service: LocalService, moto_s3: Any
) -> None:
    store = Store(fresh_service)
    bucket = new_bucket(moto_s3)
    originals = {name: Path(str(get_testdata_file(name))).read_bytes() for name in TRUNCATION_SOURCES}
    upload(moto_s3, bucket, {f"good/{name}": data for name, data in originals.items()})
    first = wait_for(store, start(store, bucket, input_prefix="good/")["jobId"])
    summary = read_json(moto_s3, first["outputS3Uri"] + "job-output-manifest.json")["jobSummary"]
    assert summary["numberOfImportedFiles"] == len(originals)
    image_set_ids = [s["imageSetId"] for s in summary["imageSetsSummary"]]
    before = {image_set_id: frames_of(store, image_set_id) for image_set_id in image_set_ids}
    assert all(before.values())

    cut = {
        f"cut/{cut_name}/{name}": body
        for name, data in originals.items()
        for cut_name, body in truncated_copies(data).items()
    }
    assert len(cut) == 13
    upload(moto_s3, bucket, cut)
    job = wait_for(store, start(store, bucket, input_prefix="cut/")["jobId"])
    assert job["jobStatus"] == "COMPLETED"
    manifest = read_json(moto_s3, job["outputS3Uri"] + "job-output-manifest.json")["jobSummary"]
    assert (manifest["numberOfImportedFiles"], manifest["numberOfFilesWithCustomerError"]) == (0, len(cut))
    assert manifest["imageSetsSummary"] == []
    assert read_ndjson(moto_s3, job["outputS3Uri"] + "SUCCESS/success.ndjson") == []
    failures = read_ndjson(moto_s3, job["outputS3Uri"] + "FAILURE/failure.ndjson")
    reasons = {line["inputFile"]: line["exception"]["message"] for line in failures}
    assert sorted(reasons) == sorted(cut)
    for key, reason in reasons.items():
        assert reason.startswith("The file is cut short"), (key, reason)
        assert "force" not in reason
    assert reasons["cut/minus-3000/CT_small.dcm"] == (
        "The file is cut short: it ends inside Pixel Data (7FE0,0010), after 29,906 of its 32,768 bytes"
    )
    assert reasons["cut/mid-pixels/examples_ybr_color.dcm"] == (
        "The file is cut short: it ends inside its encapsulated Pixel Data (7FE0,0010)"
    )
    for image_set_id in image_set_ids:
        assert store.image_set(image_set_id)["versionId"] == "1"
        assert frames_of(store, image_set_id) == before[image_set_id]
    assert len(store.search()) == len(image_set_ids)
