"""get_overview: a patient's or a study's studies and series, or a datastore's totals by modality."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..deploy.calls import touched
from ..runtime import Runtime
from ..workflows.inventory import Scope, fetch_documents, find_image_sets, require_some
from ..workflows.overview import (
    ModalityTotal,
    PatientFacts,
    StudyOverview,
    patient_facts,
    render_studies,
    render_totals,
    studies_of,
    totals_by_modality,
)
from .common import DatastoreIdArg, UidValue
from .registry import READ_ONLY, ToolOutput, Toolset

toolset = Toolset()


class Overview(ToolOutput):
    datastore_id: str
    patient: PatientFacts | None = None
    studies: list[StudyOverview] | None = None
    totals: list[ModalityTotal]

    def render(self) -> str:
        image_sets = sum(t.image_sets for t in self.totals)
        if self.patient is not None:
            p = self.patient
            who = f"Patient {p.name or '(no name)'} ({p.id or '-'})"
            extra = ", ".join(part for part in (p.sex, p.birth_date and f"born {p.birth_date}") if part)
            head = f"{who}{', ' + extra if extra else ''}: {len(self.studies or [])} studies, {image_sets} image sets"
        else:
            head = f"Datastore {self.datastore_id}: {image_sets} image sets"
        parts = [head]
        if self.studies:
            parts.append(render_studies(self.studies))
        parts.append("Totals by modality:\n" + render_totals(self.totals))
        listed = sum(len(study.series) for study in self.studies or [])
        if listed < image_sets and self.studies is not None:
            parts.append(
                f"Series listed for the first {listed} of {image_sets} image sets; "
                "call again with study_instance_uid for the other studies."
            )
        return "\n".join(parts)


@toolset.tool(READ_ONLY)
def get_overview(
    rt: Runtime,
    patient_id: Annotated[str | None, Field(max_length=256)] = None,
    study_instance_uid: UidValue = None,
    datastore_id: DatastoreIdArg = None,
) -> Overview:
    """A patient's or study's image sets by study and series: versions, counts, why non-primary; else
    datastore totals."""
    datastore_id = rt.resolve_datastore(datastore_id)
    scope = Scope(rt.redaction.reveal(patient_id), study_instance_uid)
    summaries = find_image_sets(rt.aws, datastore_id, scope)
    if scope.kind == "datastore":
        return Overview(datastore_id=datastore_id, totals=totals_by_modality(summaries))
    require_some(summaries, scope, datastore_id)
    touched(datastore_id, (summary["imageSetId"] for summary in summaries))  # beyond the series listed
    documents = fetch_documents(rt.documents, datastore_id, summaries)
    studies = studies_of(rt.aws, datastore_id, summaries, documents)
    instances = {image_set_id: document.instance_count for image_set_id, document in documents.items()}
    return Overview(
        datastore_id=datastore_id,
        patient=patient_facts(summaries[0]),
        studies=studies,
        totals=totals_by_modality(summaries, instances),
    )
