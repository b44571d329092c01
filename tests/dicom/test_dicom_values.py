"""The one DICOM value reader: the same answers for metadata JSON and pydicom values, for views and images."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.valuerep import DSfloat

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.values import as_float, as_floats, as_int, as_list, as_text, find_value, get_value
from healthimaging_mcp.imaging.layout import FrameLayout
from healthimaging_mcp.imaging.window import rescale_of


def test_a_fractional_is_string_is_no_integer_anywhere() -> None:
    assert as_int("3.5") is None and as_int(" 3.0 ") == 3
    with pytest.raises(ValueError, match="Rows, Columns and BitsAllocated are required"):
        FrameLayout.from_attributes({"Rows": "3.5", "Columns": 4, "BitsAllocated": 8})


def test_nan_and_infinity_are_no_numbers_anywhere() -> None:
    assert as_float("nan") is None and as_float(float("inf")) is None and as_floats(["1", "nan"]) is None
    assert rescale_of({"RescaleSlope": "nan", "RescaleIntercept": "-1024"}) == (1.0, -1024.0)


def test_text_loses_dicom_padding_at_both_ends() -> None:
    assert as_text(" MONOCHROME2 ") == "MONOCHROME2" and as_text("1.2.840.10008.1.2\x00") == "1.2.840.10008.1.2"
    document = ImageSetDocument.from_json(
        {"Study": {"Series": {"2.25.1": {"DICOM": {"Modality": " CT ", "SeriesNumber": " 2 "}, "Instances": {}}}}}
    )
    assert (document.series[0].modality, document.series[0].number) == ("CT", 2)
    layout = FrameLayout.from_attributes(
        {"Rows": 2, "Columns": 2, "BitsAllocated": 8, "PhotometricInterpretation": " MONOCHROME1 "}
    )
    assert layout.is_monochrome and layout.photometric_interpretation == "MONOCHROME1"


def test_pydicom_values_read_like_their_json_forms() -> None:
    ds = Dataset()
    ds.PixelSpacing = ["0.5", "0.25"]
    ds.RescaleSlope = DSfloat("2.5")
    ds.Rows = 512
    ds.WindowCenter = ["40"]
    assert isinstance(ds.PixelSpacing, MultiValue) and as_floats(ds.PixelSpacing) == [0.5, 0.25]
    assert as_float(get_value(ds, "RescaleSlope")) == 2.5 and as_int(get_value(ds, "Rows")) == 512
    assert as_float(ds.WindowCenter) == 40.0  # pydicom's one-value DS is that value
    assert as_floats(["0.5", "0.25"]) == as_floats("0.5\\0.25") == [0.5, 0.25]
    assert as_float(["1", "2"]) is None and as_text(["CT", "MR"]) is None  # several values are not one
    assert get_value(ds, "StudyDate") is None and get_value(None, "Rows") is None


def test_a_lone_object_is_one_sequence_item_not_its_keys() -> None:
    item = {"CodeValue": "T-62000"}
    assert as_list(item) == [item] and as_list(None) == [] and as_list("A\\B") == ["A", "B"]


def test_frame_values_come_from_the_frame_then_shared_groups_then_the_top_level() -> None:
    attributes = {
        "WindowCenter": "10",
        "SharedFunctionalGroupsSequence": [{"FrameVOILUTSequence": [{"WindowCenter": "20"}]}],
        "PerFrameFunctionalGroupsSequence": [
            {"FrameVOILUTSequence": [{"WindowCenter": "30"}]},
            {"PixelMeasuresSequence": [{"PixelSpacing": ["1", "1"]}]},
        ],
    }
    assert as_float(find_value(attributes, "WindowCenter", 0)) == 30.0
    assert as_float(find_value(attributes, "WindowCenter", 1)) == 20.0
    assert as_float(find_value({"WindowCenter": "10"}, "WindowCenter", 5)) == 10.0
    ds = Dataset()
    shared, voi = Dataset(), Dataset()
    voi.WindowCenter = "20"
    shared.FrameVOILUTSequence = [voi]
    ds.SharedFunctionalGroupsSequence = [shared]
    assert as_float(find_value(ds, "WindowCenter", 3)) == 20.0
