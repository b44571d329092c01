from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from healthimaging_mcp.dicom.normalize import NormalizationError, NormalizedInstance, normalize_instance

Reader = Callable[[str], pydicom.Dataset]


@pytest.fixture
def ct(read_sample: Reader) -> NormalizedInstance:
    return normalize_instance(read_sample("CT_small.dcm"))


def _with_uids(ds: pydicom.Dataset) -> pydicom.Dataset:
    ds.StudyInstanceUID = "2.25.1"
    ds.SeriesInstanceUID = "2.25.2"
    ds.SOPInstanceUID = "2.25.3"
    return ds


def test_attributes_land_at_their_levels(ct: NormalizedInstance) -> None:
    assert ct.patient["PatientName"] == "CompressedSamples^CT1"
    assert ct.study["StudyDate"] == "20040119"
    assert ct.study["PatientAge"] == "000Y"
    assert ct.series["Modality"] == "CT"
    assert ct.series["PixelPaddingValue"] == -2000
    assert ct.instance["Rows"] == 128
    for level in (ct.patient, ct.study, ct.series):
        assert "Rows" not in level
    assert "PatientName" not in ct.instance


def test_uids_are_reported(ct: NormalizedInstance) -> None:
    assert ct.study_instance_uid == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
    assert ct.series_instance_uid == "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
    assert ct.sop_instance_uid == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"


def test_numeric_strings_keep_their_original_padding(ct: NormalizedInstance) -> None:
    assert ct.instance["RescaleIntercept"] == "-1024 "
    assert ct.instance["KVP"] == "120 "
    assert ct.instance["SliceThickness"] == "5.000000"
    assert ct.instance["InstanceNumber"] == "1 "
    assert ct.series["SeriesNumber"] == "1 "
    assert ct.instance["PixelSpacing"] == ["0.661468", "0.661468 "]


def test_multi_valued_attributes_are_arrays_even_with_one_value(ct: NormalizedInstance) -> None:
    assert ct.instance["ImageType"] == ["ORIGINAL", "PRIMARY", "AXIAL"]
    assert ct.series["SoftwareVersions"] == ["05"]
    assert ct.instance["ImagePositionPatient"] == ["-158.135803", "-179.035797", "-75.699997"]
    assert ct.instance["ImageOrientationPatient"][0] == "1.000000"


def test_binary_numbers_are_json_numbers(ct: NormalizedInstance) -> None:
    assert ct.instance["BitsAllocated"] == 16
    assert ct.instance["PixelRepresentation"] == 1
    assert ct.instance["FileMetaInformationGroupLength"] == 192
    assert ct.instance["00211092"] == 0.0
    assert ct.instance["00431012"] == [14, 2, 3]


def test_empty_elements_are_null(ct: NormalizedInstance) -> None:
    assert "AccessionNumber" in ct.study and ct.study["AccessionNumber"] is None
    assert ct.patient["PatientBirthDate"] is None
    assert ct.series["Laterality"] is None


def test_sequences_become_lists_of_objects(ct: NormalizedInstance, read_sample: Reader) -> None:
    assert ct.patient["OtherPatientIDsSequence"] == [
        {"PatientID": "ABCD1234", "TypeOfPatientID": "TEXT"},
        {"PatientID": "1234ABCD", "TypeOfPatientID": "TEXT"},
    ]
    plan = normalize_instance(read_sample("rtplan.dcm"))
    beam = plan.instance["BeamSequence"][0]
    assert beam["BeamNumber"] == "1 "
    control_point = beam["ControlPointSequence"][0]
    assert control_point["ControlPointIndex"] == "0 "
    assert isinstance(plan.instance["FractionGroupSequence"][0]["ReferencedBeamSequence"], list)


def test_private_tags_use_hex_keys_and_record_their_vr(ct: NormalizedInstance) -> None:
    assert ct.instance["00090010"] == "GEMS_IDEN_01"  # private creator
    assert ct.vrs["00090010"] == "LO"
    assert ct.instance["00091001"] == "GE_GENESIS_FF"
    assert ct.vrs["00091001"] == "LO"
    assert ct.vrs["00431012"] == "SS"
    assert len(base64.b64decode(ct.instance["00431028"])) == 80
    assert ct.vrs["00431028"] == "OB"
    assert "PatientName" not in ct.vrs


def test_private_sequences_nest_with_hex_keys(read_sample: Reader) -> None:
    nested = normalize_instance(_with_uids(read_sample("nested_priv_SQ.dcm")))
    outer = nested.instance["00010001"]
    assert isinstance(outer, list)
    inner = outer[0]["00010001"][0]
    assert base64.b64decode(inner["00010001"]) == b"Double Nested SQ"
    assert base64.b64decode(outer[0]["00010002"]) == b"Nested SQ"
    assert nested.vrs["00010001"] == "SQ"
    assert nested.vrs["00010002"] == "UN"


def test_private_unknown_vr_values_stay_base64(read_sample: Reader) -> None:
    private = normalize_instance(_with_uids(read_sample("priv_SQ.dcm")))
    assert private.instance["3F030010"] == "aaabbbccc MEDICAL SYSTEMS"
    assert len(base64.b64decode(private.instance["3F031001"])) == 166
    assert private.vrs["3F031001"] == "UN"


def test_file_meta_is_kept_at_instance_level(ct: NormalizedInstance) -> None:
    assert ct.instance["TransferSyntaxUID"] == "1.2.840.10008.1.2.1"
    assert ct.instance["MediaStorageSOPInstanceUID"] == ct.sop_instance_uid
    assert ct.instance["FileMetaInformationVersion"] == "AAE="


def test_pixel_data_and_padding_are_left_out(ct: NormalizedInstance, read_sample: Reader) -> None:
    assert "PixelData" not in ct.instance
    assert "DataSetTrailingPadding" not in ct.instance
    overlay = normalize_instance(read_sample("examples_overlay.dcm"))
    assert "OverlayData" in overlay.instance
    assert "PixelData" not in json.dumps(overlay.instance["IconImageSequence"])


def test_large_binary_values_are_kept_apart_with_their_path(read_sample: Reader) -> None:
    ds = read_sample("CT_small.dcm")
    small = normalize_instance(ds, max_inline_bytes=1000)
    assert "00431029" not in small.instance  # 2068-byte OB histogram
    assert [(value.path, value.data) for value in small.bulk] == [("00431029", ds[0x00431029].value)]
    assert "00431028" in small.instance
    assert normalize_instance(ds).bulk == []


def test_text_is_decoded_with_the_specific_character_set(read_sample: Reader) -> None:
    japanese = normalize_instance(read_sample("chrH31.dcm"))
    assert japanese.patient["PatientName"] == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    russian = normalize_instance(read_sample("chrRuss.dcm"))
    assert russian.patient["PatientName"] == "Люкceмбypг"


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small.dcm",
        "rtplan.dcm",
        "MR_small_bigendian.dcm",
        "test-SR.dcm",
        "waveform_ecg.dcm",
    ],
)
def test_result_is_strict_json(read_sample: Reader, name: str) -> None:
    result = normalize_instance(read_sample(name))
    text = json.dumps([result.patient, result.study, result.series, result.instance, result.vrs], allow_nan=False)
    assert json.loads(text)[3]["SOPInstanceUID"] == result.sop_instance_uid


def _in_memory_dataset() -> Dataset:
    ds = _with_uids(Dataset())
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.PatientName = "DOE^JOHN"
    ds.add_new(0x00281052, "DS", "1.50")  # RescaleIntercept
    ds.add_new(0x00281050, "DS", ["40", "400"])  # WindowCenter
    ds.add_new(0x00280009, "AT", [0x00181063])  # FrameIncrementPointer
    ds.add_new(0x00F00010, "LO", "unknown public")
    ds.add_new(0x00080005, "CS", "ISO_IR 100")
    ds.add_new(0x00100040, "CS", "")
    return ds


def test_in_memory_datasets_are_normalised_too() -> None:
    result = normalize_instance(_in_memory_dataset())
    assert result.patient["PatientName"] == "DOE^JOHN"
    assert result.patient["PatientSex"] is None
    assert result.instance["RescaleIntercept"] == "1.50"
    assert result.instance["WindowCenter"] == ["40", "400"]
    assert result.instance["FrameIncrementPointer"] == ["00181063"]
    assert result.instance["00F00010"] == "unknown public"
    assert result.vrs == {"00F00010": "LO"}


def test_missing_uids_are_rejected(read_sample: Reader) -> None:
    with pytest.raises(NormalizationError, match="StudyInstanceUID"):
        normalize_instance(read_sample("nested_priv_SQ.dcm"))


def test_byte_order_does_not_change_values(read_sample: Reader) -> None:
    little = normalize_instance(read_sample("MR_small.dcm"))
    big = normalize_instance(read_sample("MR_small_bigendian.dcm"))
    file_meta = {"FileMetaInformationGroupLength", "TransferSyntaxUID", "ImplementationClassUID"}
    file_meta.add("ImplementationVersionName")
    differing = {key for key in little.instance if little.instance[key] != big.instance.get(key)}
    assert differing == file_meta
    assert little.instance["WindowCenter"] == big.instance["WindowCenter"] == ["600 "]
    assert (little.patient, little.study, little.series) == (big.patient, big.study, big.series)
