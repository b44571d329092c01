"""The patient identifiers of the sample data, and the check that a text carries none of them."""

from __future__ import annotations

from healthimaging_mcp.local.samples import collection

# The identifying values of the sample patient DEMO^ALICE and her CT study, in every spelling the data uses.
ALICE_PHI = ("DEMO^ALICE", "PAT-ALICE-001", "19680314", "1968-03-14", "ACC24031201", "DEMO^REFERRER", "CT1001")


def sample_identifiers() -> set[str]:
    """Every patient identifier of the sample data: names (and their parts), IDs, birth dates, accessions."""
    found: set[str] = set()
    for patient in collection.PATIENTS:
        born = patient.birth_date
        found |= {patient.name, patient.patient_id, born, f"{born[:4]}-{born[4:6]}-{born[6:]}"}
        found |= {part for part in patient.name.split("^") if part != "DEMO"}
    studies = [value for value in vars(collection).values() if isinstance(value, collection.DemoStudy)]
    assert len(studies) >= 7
    for study in studies:
        found |= {study.accession_number, study.study_id}
    return found


def assert_no_phi(*texts: str) -> None:
    """None of DEMO^ALICE's identifiers is in any of `texts`."""
    for text in texts:
        for value in ALICE_PHI:
            assert value not in text, (
                f"{value} leaked: ...{text[max(0, text.find(value) - 80) : text.find(value) + 40]}"
            )
