"""Metadata views, instance depth and text: attribute selection, shortening markers, paging, rendering."""

from __future__ import annotations

import pytest

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.values import iso_date, iso_time
from healthimaging_mcp.dicom.views.budget import fit_to_budget, shorten_value
from healthimaging_mcp.dicom.views.build import instance_detail, series_detail, summarize
from healthimaging_mcp.dicom.views.models import ViewError
from healthimaging_mcp.dicom.views.text import render_instance_detail, render_series_detail, render_summary
from tests.support.dicom_views_testdata import document_of, json_length, make_document, make_series

# --- instance detail -----------------------------------------------------------------------------------


def test_instance_attributes_come_in_tag_order_with_their_levels() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 2)))
    detail = instance_detail(doc, "2.25.5.0")
    tags = [row.tag for row in detail.attributes]
    assert tags == sorted(tags)
    by_keyword = {row.keyword: row for row in detail.attributes}
    assert (by_keyword["PatientName"].level, by_keyword["PatientName"].vr) == ("Patient", "PN")
    assert (by_keyword["StudyDate"].level, by_keyword["Modality"].level) == ("Study", "Series")
    assert (by_keyword["Rows"].tag, by_keyword["Rows"].value, by_keyword["Rows"].level) == (
        "(0028,0010)",
        512,
        "Instance",
    )
    assert by_keyword["InstanceNumber"].value == "1"  # DICOM padding removed
    assert detail.total == len(detail.attributes) and detail.next_offset is None
    assert detail.frames[0].max == 2000 and detail.frame_count == 1
    own = instance_detail(doc, "2.25.5.0", include_levels=False)
    assert {row.level for row in own.attributes} == {"Instance"}


def test_instance_attributes_selected_by_keyword_hex_and_tag_text() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 2)))
    detail = instance_detail(
        doc, "2.25.5.1", keywords=["Columns", "00280010", "(0010,0010)", "rows", "Bogus", "AcquisitionDateTime"]
    )
    assert [row.keyword for row in detail.attributes] == ["PatientName", "Rows", "Columns"]
    assert detail.unknown_keywords == ["rows", "Bogus"]  # keywords are case-sensitive
    assert detail.absent_keywords == ["AcquisitionDateTime"]


def test_private_attributes_use_hex_keys_and_recorded_vrs() -> None:
    series = make_series("2.25.5", 5, 1)
    instance = series["Instances"]["2.25.5.0"]
    instance["DICOM"]["00091001"] = "VENDOR"
    instance["DICOMVRs"] = {"00091001": "LO"}
    row = instance_detail(document_of(("2.25.5", series)), "2.25.5.0", keywords=["00091001"]).attributes[0]
    assert (row.keyword, row.tag, row.vr, row.level, row.value) == (
        "00091001",
        "(0009,1001)",
        "LO",
        "Instance",
        "VENDOR",
    )


def test_long_values_are_shortened_with_explicit_markers() -> None:
    series = make_series("2.25.5", 5, 1)
    deep = [{"CodeValue": "1", "ConceptCodeSequence": [{"CodeValue": "2", "ConceptCodeSequence": [{"X": 1}]}]}]
    series["Instances"]["2.25.5.0"]["DICOM"].update(
        {
            "ImageComments": "x" * 4096,
            "FileMetaInformationVersion": "AAE=",
            "ReferencedFrameNumber": [str(n) for n in range(40)],
            "ContentSequence": deep,
        }
    )
    rows = instance_detail(document_of(("2.25.5", series)), "2.25.5.0").attributes
    values = {row.keyword: row.value for row in rows}
    assert values["ImageComments"] == "x" * 200 + "…(truncated, 4096 chars)"
    assert values["FileMetaInformationVersion"] == "…(binary, 2 bytes)"
    assert values["ReferencedFrameNumber"][:16] == [str(n) for n in range(16)]
    assert values["ReferencedFrameNumber"][16:] == ["…(truncated, 40 items)"]
    nested = values["ContentSequence"][0]["ConceptCodeSequence"][0]
    assert nested["CodeValue"] == "2"
    assert nested["ConceptCodeSequence"] == "…(sequence, 1 items)"


def test_instance_attribute_pages_fit_the_budget_and_cover_everything() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 1)))
    everything = [row.keyword for row in instance_detail(doc, "2.25.5.0", budget_chars=100_000).attributes]
    seen: list[str] = []
    offset: int | None = 0
    while offset is not None:
        page = instance_detail(doc, "2.25.5.0", offset=offset, budget_chars=1200)
        assert json_length(page) <= 1200
        assert page.truncated == (page.next_offset is not None)
        seen += [row.keyword for row in page.attributes]
        offset = page.next_offset
    assert seen == everything


def test_unknown_instance_is_a_view_error() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 2)))
    with pytest.raises(ViewError, match=r"instance '9\.9' is not in image set 9+; it has 2 instances in 1 series"):
        instance_detail(doc, "9.9")


# --- text rendering ------------------------------------------------------------------------------------


def test_rendered_texts_state_key_facts_in_far_fewer_characters() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 2, 128)), ("2.25.6", make_series("2.25.6", 3, 4, modality="MR")))
    summary = summarize(doc)
    text = render_summary(summary)
    first_line = text.splitlines()[0]
    for fact in ("DEMO^ALICE", "PAT-1", "F", "1970-01-01", "CT CHEST W CONTRAST", "2024-01-05", "ACC123"):
        assert fact in first_line
    assert "#2 CT AXIAL 2.5MM" in text and "128 images" in text and "512×512" in text and "2.25.5" in text
    assert len(text) < 0.6 * json_length(summary)

    detail = series_detail(doc, "2.25.5", limit=10)
    series_text = render_series_detail(detail)
    assert "2.25.5.0" in series_text and "continue with offset 10" in series_text
    assert len(series_text) < 0.6 * json_length(detail)

    instance = instance_detail(doc, "2.25.5.0")
    instance_text = render_instance_detail(instance)
    assert "(0010,0010) PatientName PN = DEMO^ALICE" in instance_text
    assert len(instance_text) < 0.6 * json_length(instance)


def test_sequences_render_as_indented_items_with_codes_and_caps() -> None:
    series = make_series("2.25.5", 5, 1)
    code = {"CodeValue": "T-62000", "CodingSchemeDesignator": "SRT", "CodeMeaning": "Liver"}
    segments = [
        {"SegmentNumber": n, "SegmentLabel": f"Segment {n}", "SegmentedPropertyTypeCodeSequence": [code]}
        for n in range(1, 8)
    ]
    references = [{"ReferencedSOPInstanceUID": f"2.25.9.{n}", "ReferencedFrameNumber": [1, 2]} for n in range(20)]
    series["Instances"]["2.25.5.0"]["DICOM"].update(
        SegmentSequence=segments,
        ProcedureCodeSequence=[code, {**code, "CodeValue": "T-D0050", "CodeMeaning": "Tissue"}],
        ReferencedSeriesSequence=[{"SeriesInstanceUID": "2.25.9", "ReferencedInstanceSequence": references}],
    )
    detail = instance_detail(document_of(("2.25.5", series)), "2.25.5.0")
    text = render_instance_detail(detail)
    lines = text.splitlines()
    assert "(0008,1032) ProcedureCodeSequence SQ = Liver (SRT T-62000); Tissue (SRT T-D0050)" in lines
    start = lines.index("(0062,0002) SegmentSequence SQ = 7 items")
    assert lines[start + 1 : start + 3] == [
        "  [1] SegmentNumber=1; SegmentLabel=Segment 1",
        "    SegmentedPropertyTypeCodeSequence = Liver (SRT T-62000)",
    ]
    assert "  … 3 more" in lines  # items beyond the first four are counted
    start = lines.index("(0008,1115) ReferencedSeriesSequence SQ = 1 item")
    assert lines[start + 1 : start + 3] == [
        "  [1] SeriesInstanceUID=2.25.9",
        "    ReferencedInstanceSequence = 20 items",  # the true count, though the structured value keeps 16
    ]
    assert lines[start + 3] == "      [1] ReferencedSOPInstanceUID=2.25.9.0; ReferencedFrameNumber=1\\2"
    assert lines[start + 7] == "      … 16 more"
    assert "[sequence of" not in text
    by_keyword = {row.keyword: row for row in detail.attributes}  # the structured content keeps the items
    assert by_keyword["SegmentSequence"].value[6]["SegmentLabel"] == "Segment 7"
    assert len(text) < json_length(detail)


def test_a_long_sequence_is_cut_with_a_marker() -> None:
    series = make_series("2.25.5", 5, 1)
    items = [{"SeriesInstanceUID": f"2.25.9.{n}", "ReferencedInstanceSequence": [{"A": 1}] * 5} for n in range(4)]
    series["Instances"]["2.25.5.0"]["DICOM"]["ReferencedSeriesSequence"] = items
    text = render_instance_detail(instance_detail(document_of(("2.25.5", series)), "2.25.5.0"))
    lines = text.splitlines()
    start = lines.index("(0008,1115) ReferencedSeriesSequence SQ = 4 items")
    section = lines[start : start + 16]
    assert section[-1] == "  … 14 more lines in the structured content"  # 29 lines: 15 shown
    assert all(line.startswith("  ") for line in section[1:])
    assert not lines[start + 16].startswith(" ")


def test_truncated_summary_text_says_what_was_left_out() -> None:
    series = {f"2.25.{n}": make_series(f"2.25.{n}", n, 1) for n in range(1, 60)}
    summary = summarize(ImageSetDocument.from_json(make_document(series)), budget_chars=1500)
    assert f"… {summary.omitted_series} more series left out" in render_summary(summary)


# --- building blocks -----------------------------------------------------------------------------------


def test_fit_to_budget_counts_commas_and_honours_min_items() -> None:
    items = ["a" * 8, "b" * 8, "c" * 8]  # each 10 chars as JSON
    assert fit_to_budget(items, budget_chars=2 + 10 + 1 + 10, fixed_chars=2) == 2
    assert fit_to_budget(items, budget_chars=2 + 10 + 1 + 9, fixed_chars=2) == 1
    assert fit_to_budget(items, budget_chars=5, fixed_chars=2) == 0
    assert fit_to_budget(items, budget_chars=5, fixed_chars=2, min_items=1) == 1


def test_shorten_value_leaves_short_values_alone() -> None:
    assert shorten_value(["1", "2 "]) == ["1", "2"]
    assert shorten_value(42) == 42
    assert shorten_value(None, vr="OB") is None


@pytest.mark.parametrize(
    ("raw", "date"),
    [("20240105", "2024-01-05"), ("2024.01.05", "2024-01-05"), ("20241305", "20241305"), ("unknown", "unknown")],
)
def test_dates_become_iso_when_parseable(raw: str, date: str) -> None:
    assert iso_date(raw) == date


@pytest.mark.parametrize(
    ("raw", "value"),
    [("101500", "10:15:00"), ("101500.123456", "10:15:00"), ("1015", "10:15"), ("10:15:00", "10:15:00"), ("9", "9")],
)
def test_times_become_iso_when_parseable(raw: str, value: str) -> None:
    assert iso_time(raw) == value
