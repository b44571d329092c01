"""get_image_set_metadata: the DICOM metadata at three depths, within the output budget, never as a blob."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import Field

from ..dicom.document import ImageSetDocument
from ..dicom.views.build import instance_detail, series_detail, summarize
from ..dicom.views.models import InstanceDetail, MetadataSummary, SeriesDetail, ViewError
from ..dicom.views.text import render_instance_detail, render_series_detail, render_summary
from ..errors import ErrorType, HealthImagingError, invalid
from ..files import output_path, write_file
from ..runtime import Runtime
from .common import UID_PATTERN, DatastoreIdArg, FileNameArg, ImageSetIdArg, VersionArg
from .registry import READ_ONLY, ToolOutput, Toolset

toolset = Toolset()


class MetadataAnswer(ToolOutput):
    datastore_id: str
    image_set_id: str
    version_id: str
    depth: str
    summary: MetadataSummary | None = None
    series: SeriesDetail | None = None
    instance: InstanceDetail | None = None
    saved_to: str | None = None

    def render(self) -> str:
        if self.summary is not None:
            text = render_summary(self.summary)
        elif self.series is not None:
            text = render_series_detail(self.series)
        elif self.instance is not None:
            text = render_instance_detail(self.instance)
        else:
            text = ""
        head = f"Image set {self.image_set_id} v{self.version_id}"
        saved = f"\nFull metadata JSON saved to {self.saved_to}" if self.saved_to else ""
        return f"{head}\n{text}{saved}"


@toolset.tool(READ_ONLY)
def get_image_set_metadata(
    rt: Runtime,
    image_set_id: ImageSetIdArg,
    datastore_id: DatastoreIdArg = None,
    version_id: VersionArg = None,
    depth: Literal["summary", "series", "instance"] = "summary",
    series_instance_uid: Annotated[str | None, Field(pattern=UID_PATTERN, description="For depth=series.")] = None,
    sop_instance_uid: Annotated[str | None, Field(pattern=UID_PATTERN, description="For depth=instance.")] = None,
    keywords: Annotated[
        list[str] | None, Field(description="Only these attributes (DICOM keywords or 8-hex tags).", max_length=100)
    ] = None,
    offset: Annotated[int, Field(ge=0, description="next_offset from the previous answer.")] = 0,
    save_json_as: Annotated[
        FileNameArg, Field(description="Also save the full JSON as this file in the output folder.")
    ] = None,
) -> MetadataAnswer:
    """DICOM metadata, compact. depth=summary: patient, study, each series (counts, size, spacing);
    series: its instances; instance: all its attributes."""
    datastore_id = rt.resolve_datastore(datastore_id)
    version = version_id or rt.documents.latest_version(datastore_id, image_set_id)
    document = rt.documents.get(datastore_id, image_set_id, version)
    budget = rt.settings.max_output_chars
    answer = MetadataAnswer(datastore_id=datastore_id, image_set_id=image_set_id, version_id=version, depth=depth)
    _check_exists(document, series_instance_uid if depth == "series" else None, sop_instance_uid)
    try:
        if depth == "summary":
            answer.summary = summarize(document, budget_chars=budget)
        elif depth == "series":
            uid = series_instance_uid or _only_series(document)
            answer.series = series_detail(document, uid, offset=offset, budget_chars=budget, keywords=keywords)
        else:
            if not sop_instance_uid:
                raise invalid("depth=instance needs sop_instance_uid (list a series' instances with depth=series).")
            answer.instance = instance_detail(
                document, sop_instance_uid, keywords=keywords, offset=offset, budget_chars=budget
            )
    except ViewError as exc:
        raise invalid(str(exc)) from None
    if save_json_as:
        path = output_path(rt.settings.output_dir, save_json_as, ".json")
        content = rt.redaction.value(document.raw)
        write_file(path, json.dumps(content, indent=1, ensure_ascii=False).encode())
        answer.saved_to = str(path)
    return answer


def _check_exists(document: ImageSetDocument, series_uid: str | None, sop_uid: str | None) -> None:
    """Unknown UIDs are not_found (the views would only say the arguments are wrong)."""
    if series_uid and document.series_by_uid(series_uid) is None:
        raise HealthImagingError(
            ErrorType.NOT_FOUND,
            f"Series {series_uid} is not in image set {document.image_set_id}.",
            next_step="See the series listed by depth=summary.",
        )
    if sop_uid and document.instance(sop_uid) is None:
        raise HealthImagingError(
            ErrorType.NOT_FOUND,
            f"Instance {sop_uid} is not in image set {document.image_set_id}.",
            next_step="List a series' instances with depth=series to find SOP Instance UIDs.",
        )


def _only_series(document: object) -> str:
    series = getattr(document, "series", [])
    if len(series) == 1:
        return str(series[0].uid)
    listed = "; ".join(f"{s.uid} ({s.modality} {s.description or ''})" for s in series[:10])
    raise invalid(f"This image set has {len(series)} series; give series_instance_uid: {listed}")
