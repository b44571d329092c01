"""QIDO-RS on the local service: each search form through `dicomweb-client`, matching semantics over raw HTTP."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dicomweb_client import DICOMwebClient
from requests import HTTPError

from healthimaging_mcp.local.service import LocalService
from healthimaging_mcp.local.store.lookups import datastore_row
from tests.support.dicomweb import dicomweb_client, dicomweb_get, first, json_body, values
from tests.support.local_kit import Store, updates
from tests.support.local_testdata import SeriesSpec, series

STUDY_UID, SERIES_UID, SOP_UID = "0020000D", "0020000E", "00080018"
PATIENT_NAME, PATIENT_ID, STUDY_DATE, STUDY_DESCRIPTION = "00100010", "00100020", "00080020", "00081030"
MODALITIES, MODALITY, SERIES_NUMBER, INSTANCE_NUMBER = "00080061", "00080060", "00200011", "00200013"
RELATED_SERIES, RELATED_INSTANCES, SERIES_INSTANCES = "00201206", "00201208", "00201209"
INSTITUTION, POSITION, RETRIEVE_URL = "00080080", "00200032", "00081190"

# Three studies, imported A (oldest), B, C (newest); A has a CT and an MR series.
A_CT = SeriesSpec(key="a-ct", study_key="study-a", patient_name="DOE^JANE", patient_id="PAT-1", study_date="20230105")
A_MR = SeriesSpec(
    key="a-mr", study_key="study-a", patient_name="DOE^JANE", patient_id="PAT-1", study_date="20230105",
    series_number=2, modality="MR", extra={"InstitutionName": "NORTH CLINIC"},
)  # fmt: skip
B_MR = SeriesSpec(
    key="b-mr", study_key="study-b", patient_name="THOMAS^ALBERT", patient_id="PAT-2", accession_number="ACC-2",
    study_date="20240220", study_time="143000", modality="MR", extra={"StudyDescription": "BRAIN NUCLEAR SCAN"},
)  # fmt: skip
C_CT = SeriesSpec(
    key="c-ct", study_key="study-c", patient_name="Smith^Anna", patient_id="PAT-3", accession_number="ACC-3",
    study_date="20240701", study_time="080000",
)  # fmt: skip
# Same study and series as C with another PatientID: a conflict, so a non-primary image set.
C_CONFLICT = SeriesSpec(
    key="c-ct", study_key="study-c", patient_name="Smith^Anna", patient_id="PAT-OTHER", accession_number="ACC-3",
    study_date="20240701", study_time="080000",
)  # fmt: skip


@pytest.fixture(scope="module")
def qido(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalService, str]]:
    with LocalService(tmp_path_factory.mktemp("qido")) as service:
        store = Store(service)
        store.load(series(A_CT, 3))
        store.load(series(A_MR, 2))
        store.load(series(B_MR, 2))
        store.load(series(C_CT, 1))
        report = store.load(series(C_CONFLICT, 1, start=9))
        assert [s.is_primary for s in report.image_sets] == [False]
        yield service, store.datastore_id


@pytest.fixture(scope="module")
def client(qido: tuple[LocalService, str]) -> DICOMwebClient:
    return dicomweb_client(*qido)


def uids(datasets: list[dict[str, Any]], tag: str) -> list[str]:
    return [first(d, tag) for d in datasets]


def search(qido: tuple[LocalService, str], path: str, **params: Any) -> list[dict[str, Any]]:
    response = dicomweb_get(*qido, path, params)
    assert response.status == 200, response.body
    found: list[dict[str, Any]] = json_body(response)
    return found


# ---------------------------------------------------------------- every search form, through dicomweb-client


def test_study_search_answers_newest_first_with_the_default_study_attributes(client: DICOMwebClient) -> None:
    studies = client.search_for_studies()
    assert uids(studies, STUDY_UID) == [C_CT.study_uid, B_MR.study_uid, A_CT.study_uid]
    study_a = studies[2]
    assert study_a[PATIENT_NAME] == {"vr": "PN", "Value": [{"Alphabetic": "DOE^JANE"}]}
    assert values(study_a, MODALITIES) == ["CT", "MR"]
    assert first(study_a, RELATED_SERIES) == 2 and first(study_a, RELATED_INSTANCES) == 5
    assert first(study_a, STUDY_DATE) == "20230105" and first(study_a, "00080056") == "ONLINE"
    assert first(studies[1], STUDY_DESCRIPTION) == "BRAIN NUCLEAR SCAN"
    assert INSTITUTION not in study_a and SERIES_UID not in study_a


def test_series_searches_order_by_series_number(client: DICOMwebClient) -> None:
    in_study = client.search_for_series(A_CT.study_uid)
    assert uids(in_study, SERIES_UID) == [A_CT.series_uid, A_MR.series_uid]
    assert [first(s, SERIES_NUMBER) for s in in_study] == [1, 2]
    assert [first(s, SERIES_INSTANCES) for s in in_study] == [3, 2]
    assert PATIENT_NAME not in in_study[0]  # study-scoped: no study attributes
    every = client.search_for_series()
    assert sorted(uids(every, SERIES_UID)) == sorted(s.series_uid for s in (A_CT, A_MR, B_MR, C_CT))
    assert [first(s, SERIES_NUMBER) for s in every] == [1, 1, 1, 2]
    assert all(first(s, PATIENT_NAME) for s in every)  # relational: study attributes too


def test_instance_searches_in_a_series_a_study_and_everywhere(client: DICOMwebClient) -> None:
    in_series = client.search_for_instances(A_CT.study_uid, A_CT.series_uid)
    assert uids(in_series, SOP_UID) == [A_CT.sop_uid(n) for n in (1, 2, 3)]
    assert first(in_series[0], "00080016") == "1.2.840.10008.5.1.4.1.1.2"
    assert first(in_series[0], "00280010") == 8 and first(in_series[0], "00280100") == 16
    assert first(in_series[0], RETRIEVE_URL).endswith(
        f"/studies/{A_CT.study_uid}/series/{A_CT.series_uid}/instances/{A_CT.sop_uid(1)}"
    )
    assert MODALITY not in in_series[0]  # series-scoped: no series attributes
    in_study = client.search_for_instances(A_CT.study_uid)
    assert len(in_study) == 5 and {first(i, MODALITY) for i in in_study} == {"CT", "MR"}
    every = client.search_for_instances()
    assert [first(i, INSTANCE_NUMBER) for i in every] == [1, 1, 1, 1, 2, 2, 2, 3]
    assert all(first(i, PATIENT_ID) for i in every)


def test_searches_with_filters_fields_and_paging_through_the_client(client: DICOMwebClient) -> None:
    found = client.search_for_studies(search_filters={"PatientName": "doe*"}, fields=["PatientBirthDate"])
    assert uids(found, STUDY_UID) == [A_CT.study_uid]
    series_found = client.search_for_series(search_filters={"Modality": "MR"}, fields=["InstitutionName"])
    assert sorted(uids(series_found, SERIES_UID)) == sorted([A_MR.series_uid, B_MR.series_uid])
    institutions = {first(s, SERIES_UID): first(s, INSTITUTION) for s in series_found}
    assert institutions == {A_MR.series_uid: "NORTH CLINIC", B_MR.series_uid: None}
    page = client.search_for_instances(limit=3, offset=2)
    assert [first(i, INSTANCE_NUMBER) for i in page] == [1, 1, 2]
    assert len(client.search_for_instances(get_remaining=True)) == 8


def test_non_primary_image_sets_are_not_searchable(client: DICOMwebClient) -> None:
    in_series = client.search_for_instances(C_CT.study_uid, C_CT.series_uid)
    assert uids(in_series, SOP_UID) == [C_CT.sop_uid(1)]
    assert client.search_for_instances(search_filters={"SOPInstanceUID": C_CONFLICT.sop_uid(9)}) == []
    assert client.search_for_studies(search_filters={"PatientID": "PAT-OTHER"}) == []


# ---------------------------------------------------------------- matching semantics (raw HTTP)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"PatientName": "DOE^JANE"}, ["a"]),
        ({"PatientName": "doe^jane"}, ["a"]),  # person names ignore case
        ({"00100010": "*ANNA"}, ["c"]),  # by tag, leading wildcard, any case
        ({"PatientName": "THOMAS"}, []),  # no wildcard: the whole name
        ({"PatientID": "PAT-?"}, ["c", "b", "a"]),
        ({"PatientID": "PAT-??"}, []),
        ({"StudyDescription": "*NUCLEAR*"}, ["b"]),
        ({"StudyDescription": "*nuclear*"}, []),  # other text is case-sensitive
        ({"AccessionNumber": "ACC-2"}, ["b"]),
        ({"StudyDate": "20240101-20241231"}, ["c", "b"]),
        ({"StudyDate": "-20231231"}, ["a"]),
        ({"StudyDate": "20240701-"}, ["c"]),
        ({"StudyDate": "20240220"}, ["b"]),
        ({"StudyTime": "1400-1500"}, ["b"]),
        ({"StudyDate": "20240101-20241231", "StudyTime": "07-09"}, ["c"]),
        ({"ModalitiesInStudy": "MR"}, ["b", "a"]),
        ({"ModalitiesInStudy": "CT,MR"}, ["c", "b", "a"]),
        ({"PatientName": "", "StudyDate": "*"}, ["c", "b", "a"]),  # universal matching
        ({"PatientName": "thomas", "fuzzymatching": "true"}, ["b"]),
        ({"PatientName": "Albert", "fuzzymatching": "true"}, ["b"]),
        ({"PatientName": "alb tho", "fuzzymatching": "true"}, ["b"]),
        ({"PatientName": "hom", "fuzzymatching": "true"}, []),  # a prefix of a word, not any part
        ({"PatientName": "an", "fuzzymatching": "true"}, ["c"]),
    ],
)
def test_study_matching(qido: tuple[LocalService, str], params: dict[str, str], expected: list[str]) -> None:
    by_key = {"a": A_CT.study_uid, "b": B_MR.study_uid, "c": C_CT.study_uid}
    assert uids(search(qido, "studies", **params), STUDY_UID) == [by_key[k] for k in expected]


def test_matched_attributes_are_returned(qido: tuple[LocalService, str]) -> None:
    (study,) = search(qido, "studies", PatientSex="O", AccessionNumber="ACC-3")
    assert first(study, "00100040") == "O"
    (instance,) = search(qido, "instances", SOPInstanceUID=f"{B_MR.sop_uid(2)},{A_CT.sop_uid(9)}")
    assert first(instance, SOP_UID) == B_MR.sop_uid(2)


def test_uid_lists_match_any_uid(qido: tuple[LocalService, str]) -> None:
    found = search(qido, "series", SeriesInstanceUID=f"{A_MR.series_uid}\\{C_CT.series_uid}")
    assert sorted(uids(found, SERIES_UID)) == sorted([A_MR.series_uid, C_CT.series_uid])


def test_instance_attributes_outside_the_index_can_be_matched_and_included(qido: tuple[LocalService, str]) -> None:
    in_series = f"studies/{A_CT.study_uid}/series/{A_CT.series_uid}/instances"
    (instance,) = search(qido, in_series, InstanceNumber="2", includefield="ImagePositionPatient")
    assert values(instance, POSITION) == [0, 0, 2]
    (matched,) = search(qido, in_series, ImagePositionPatient="3")  # one of its values
    assert first(matched, INSTANCE_NUMBER) == 3 and POSITION in matched
    everything = search(qido, in_series, includefield="all", limit="1")[0]
    assert first(everything, "00281052") == -1024 and values(everything, "00280030") == [0.5, 0.5]
    assert "00020010" not in everything  # file meta is not part of the instance


def test_includefield_takes_lists_tags_and_skips_unknown_names(qido: tuple[LocalService, str]) -> None:
    (study,) = search(qido, "studies", StudyInstanceUID=A_CT.study_uid, includefield="00100030,NoSuchKeyword")
    assert first(study, "00100030") == "19700101"
    (everything,) = search(qido, "studies", StudyInstanceUID=A_CT.study_uid, includefield="all")
    assert first(everything, "00100030") == "19700101" and first(everything, RELATED_SERIES) == 2


def test_limit_and_offset_page_in_order(qido: tuple[LocalService, str]) -> None:
    every = uids(search(qido, "instances"), SOP_UID)
    pages = [uids(search(qido, "instances", limit=3, offset=offset), SOP_UID) for offset in (0, 3, 6, 9)]
    assert pages[0] + pages[1] + pages[2] == every and pages[3] == []
    response = dicomweb_get(*qido, "instances", {"limit": 5000})
    assert response.status == 200 and len(json_body(response)) == 8
    assert "limit 5000 is above the maximum" in response.headers["warning"]


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        ("studies", {"Modality": "CT"}, "ModalitiesInStudy"),
        ("studies", {"SOPInstanceUID": "1.2"}, "search instances"),
        ("studies", {"PatientNmae": "x"}, "Unknown query parameter 'PatientNmae'"),
        ("studies", {"StudyDate": "2024"}, "StudyDate takes YYYYMMDD"),
        ("studies", {"StudyDate": "20241231-20240101"}, "ends before it starts"),
        ("studies", {"limit": "ten"}, "limit must be a whole number"),
        ("studies", {"limit": "0"}, "limit must be at least 1"),
        ("studies", {"offset": "-1"}, "offset must be at least 0"),
        ("studies", {"fuzzymatching": "yes"}, "fuzzymatching must be true or false"),
        ("studies", {"NumberOfStudyRelatedSeries": "2"}, "computed by the service"),
        ("series", {"ReferencedSOPSequence.ReferencedSOPInstanceUID": "1"}, "inside sequences"),
        ("instances", {"InstanceNumber": "two"}, "InstanceNumber takes a number"),
    ],
)
def test_bad_queries_are_refused_with_a_reason(
    qido: tuple[LocalService, str], path: str, params: dict[str, str], reason: str
) -> None:
    response = dicomweb_get(*qido, path, params)
    assert response.status == 400, response.body
    assert reason in response.json()["message"]


def test_a_search_answers_only_dicom_json(qido: tuple[LocalService, str]) -> None:
    response = dicomweb_get(*qido, "studies", headers={"Accept": "application/dicom+xml"})
    assert response.status == 406 and "application/dicom+json" in response.json()["message"]
    assert dicomweb_get(*qido, "studies", headers={"Accept": "application/json"}).status == 200


def test_client_errors_raise_http_errors_in_the_client(client: DICOMwebClient) -> None:
    with pytest.raises(HTTPError) as info:
        client.search_for_studies(search_filters={"Modality": "CT"})
    assert info.value.response is not None and info.value.response.status_code == 400


# ---------------------------------------------------------------- the listener: datastores, auth, Host


def test_unknown_datastore_and_unknown_resources_are_404(qido: tuple[LocalService, str]) -> None:
    service, datastore_id = qido
    response = dicomweb_get(service, "0" * 32, "studies")
    assert response.status == 404 and response.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    response = dicomweb_get(service, datastore_id, f"studies/{A_CT.study_uid}/metadata")
    assert response.status == 404 and "No DICOMweb resource" in response.json()["message"]


def test_unsigned_requests_are_refused_like_the_native_api(qido: tuple[LocalService, str]) -> None:
    response = dicomweb_get(*qido, "studies", sign=False)
    assert response.status == 403
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert "SigV4" in response.json()["message"]


def test_any_host_header_reaches_the_dicomweb_api(qido: tuple[LocalService, str]) -> None:
    response = dicomweb_get(*qido, "studies", host="dicom-medical-imaging.us-east-1.amazonaws.com")
    assert response.status == 200 and len(json_body(response)) == 3


def test_signatures_are_verified_when_the_service_has_credentials(tmp_path: Path) -> None:
    with LocalService(tmp_path, credentials={"AKIDLOCAL": "secret"}) as service:
        datastore_id = Store(service).datastore_id
        good = dicomweb_get(service, datastore_id, "studies", access_key="AKIDLOCAL", secret="secret")
        assert good.status == 200 and good.json() == []
        bad = dicomweb_get(service, datastore_id, "studies", access_key="AKIDLOCAL", secret="wrong")
        assert bad.status == 403 and bad.headers["x-amzn-errortype"] == "InvalidSignatureException"
        with pytest.raises(HTTPError):
            dicomweb_client(service, datastore_id, access_key="AKIDLOCAL", secret="wrong").search_for_studies()


# ---------------------------------------------------------------- the index follows every write


def test_search_follows_updates_copies_and_deletes(store: Store) -> None:
    client = dicomweb_client(store.service, store.datastore_id)
    store.load(series(A_CT, 2))
    (image_set_id,) = [s["imageSetId"] for s in store.search()]
    renamed = updates({"Study": {"DICOM": {"StudyDescription": "RENAMED"}}})
    store.update(image_set_id, "1", updateImageSetMetadataUpdates=renamed)
    assert client.search_for_studies(search_filters={"StudyDescription": "RENAMED"}) != []
    assert client.search_for_studies(search_filters={"StudyDescription": "CONFORMANCE STUDY"}) == []
    conflict = SeriesSpec(key="a-ct", study_key="study-a", patient_id="PAT-ELSEWHERE")
    (non_primary,) = store.load(series(conflict, 1, start=7)).image_sets
    assert client.search_for_instances(search_filters={"PatientID": "PAT-ELSEWHERE"}) == []
    store.client.delete_image_set(datastoreId=store.datastore_id, imageSetId=image_set_id)
    assert client.search_for_studies() == []
    store.client.copy_image_set(
        datastoreId=store.datastore_id,
        sourceImageSetId=non_primary.image_set_id,
        copyImageSetInformation={"sourceImageSet": {"latestVersionId": "1"}},
        promoteToPrimary=True,
    )
    promoted = client.search_for_instances()
    assert uids(promoted, SOP_UID) == [conflict.sop_uid(7)] and first(promoted[0], PATIENT_ID) == "PAT-ELSEWHERE"


def test_a_search_cannot_see_an_image_set_write_that_rolled_back(store: Store) -> None:
    def fail(conn: sqlite3.Connection, image_set_id: str) -> None:
        raise OSError("disk full")

    with store.service.backend.image_sets.faulting(fail):
        report = store.load(series(A_CT, 1))
    assert report.failures and not report.image_sets
    assert dicomweb_client(store.service, store.datastore_id).search_for_instances() == []


def test_a_data_folder_from_before_the_index_is_indexed_when_opened(tmp_path: Path) -> None:
    with LocalService(tmp_path) as service:
        store = Store(service)
        store.load(series(B_MR, 2))
        datastore_id = store.datastore_id
        with service.backend.db.write() as conn:  # as an older version left it: no index rows, no marker
            conn.execute("DELETE FROM dicomweb_series")
            conn.execute("DELETE FROM dicomweb_instances")
            conn.execute("DELETE FROM local_markers WHERE name LIKE 'dicomweb%'")
    with LocalService(tmp_path) as reopened:
        found = dicomweb_client(reopened, datastore_id).search_for_instances()
        assert uids(found, SOP_UID) == [B_MR.sop_uid(1), B_MR.sop_uid(2)]


def metadata_light_series(count: int) -> dict[str, Any]:
    """An image set document of one series of `count` instances that carry only their identity (no frames)."""
    spec = SeriesSpec(key="many", study_key="many")
    instances = {
        spec.sop_uid(n): {"DICOM": {"SOPClassUID": "1.2.840.10008.5.1.4.1.1.7", "SOPInstanceUID": spec.sop_uid(n),
                                    "InstanceNumber": str(n)}, "DICOMVRs": {}}
        for n in range(1, count + 1)
    }  # fmt: skip
    return {
        "SchemaVersion": "1.1",
        "Patient": {"DICOM": {"PatientID": "PAT-MANY", "PatientName": "MANY^INSTANCES"}},
        "Study": {
            "DICOM": {"StudyInstanceUID": spec.study_uid, "StudyDate": "20240101"},
            "Series": {spec.series_uid: {"DICOM": {"SeriesInstanceUID": spec.series_uid, "Modality": "OT"},
                                         "Instances": instances}},
        },
    }  # fmt: skip


def test_at_most_10000_records_can_be_paged_through(store: Store) -> None:
    backend = store.service.backend
    datastore = datastore_row(backend.db, store.datastore_id)
    with backend.db.write() as conn:
        backend.image_sets.insert_image_set(
            conn, datastore, metadata_light_series(10_005), [], is_primary=True, workflow_status="CREATED", now=1.0
        )
    service = (store.service, store.datastore_id)
    response = dicomweb_get(*service, "instances", {"offset": 9_998, "limit": 10})
    assert response.status == 200
    assert [first(i, INSTANCE_NUMBER) for i in json_body(response)] == [9_999, 10_000]
    assert "matched more than 10,000 records; only the first 10,000" in response.headers["warning"]
    assert search(service, "instances", offset=10_000) == []
    assert "warning" not in dicomweb_get(*service, "instances", {"InstanceNumber": "10005"}).headers
