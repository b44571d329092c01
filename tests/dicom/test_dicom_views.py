"""Metadata views, summary and series depths: content, spacing, paging, budgets and errors."""

from __future__ import annotations

import time

import pytest

from healthimaging_mcp.dicom.document import ImageSetDocument
from healthimaging_mcp.dicom.views.build import series_detail, summarize
from healthimaging_mcp.dicom.views.models import ViewError
from tests.support.dicom_views_testdata import (
    SAGITTAL,
    document_of,
    json_length,
    make_document,
    make_instance,
    make_series,
)

# --- summary -------------------------------------------------------------------------------------------


def test_summary_reports_patient_study_and_series_facts() -> None:
    doc = document_of(("2.25.20", make_series("2.25.20", 2, 10)), ("2.25.10", make_series("2.25.10", 1, 1)))
    summary = summarize(doc)
    assert (summary.patient.name, summary.patient.id, summary.patient.birth_date) == (
        "DEMO^ALICE",
        "PAT-1",
        "1970-01-01",
    )
    assert (summary.patient.sex, summary.patient.age) == ("F", "054Y")
    assert (summary.study.date, summary.study.time, summary.study.accession_number) == (
        "2024-01-05",
        "10:15:00",
        "ACC123",
    )
    assert summary.study.referring_physician == "WHO^DOCTOR"
    assert (summary.series_count, summary.instance_count, summary.frame_count) == (2, 11, 11)
    assert [s.number for s in summary.series] == [1, 2]  # display order, not document order
    series = summary.series[1]
    assert (series.modality, series.description, series.body_part, series.plane) == (
        "CT",
        "AXIAL 2.5MM",
        "CHEST",
        "axial",
    )
    assert (series.rows, series.columns, series.bits_stored, series.instance_count) == (512, 512, 12, 10)
    assert series.pixel_spacing == [0.7, 0.7]
    assert (series.slice_thickness, series.spacing_between_slices) == (2.5, 2.5)
    assert (series.window_center, series.window_width) == (40.0, 400.0)
    assert series.stored_transfer_syntax == "1.2.840.10008.1.2.4.202"
    assert (series.series_date, series.manufacturer, series.note) == ("2024-01-05", "ACME", None)
    assert summary.modalities == ["CT"]
    assert (summary.truncated, summary.omitted_series) == (False, 0)


def test_mixed_dimensions_and_syntaxes_are_noted_not_guessed() -> None:
    series = make_series("2.25.5", 5, 3)
    series["Instances"]["2.25.5.9"] = make_instance(
        "2.25.5.9", 9, 50.0, rows=256, columns=256, syntax="1.2.840.10008.1.2.1"
    )
    entry = summarize(document_of(("2.25.5", series))).series[0]
    assert (entry.rows, entry.columns, entry.stored_transfer_syntax) == (None, None, None)
    assert entry.note is not None
    assert "512×512 (3)" in entry.note and "256×256 (1)" in entry.note
    assert "mixed stored transfer syntaxes" in entry.note


def test_spacing_is_measured_from_positions_not_taken_from_the_attribute() -> None:
    series = make_series("2.25.5", 5, 6, gap=1.25)
    for instance in series["Instances"].values():
        instance["DICOM"]["SpacingBetweenSlices"] = "9.9"  # wrong on purpose
    entry = summarize(document_of(("2.25.5", series))).series[0]
    assert entry.spacing_between_slices == pytest.approx(1.25)


def test_single_instance_spacing_falls_back_to_the_attribute() -> None:
    series = make_series("2.25.5", 5, 1)
    series["Instances"]["2.25.5.0"]["DICOM"]["SpacingBetweenSlices"] = "3.0 "
    assert summarize(document_of(("2.25.5", series))).series[0].spacing_between_slices == 3.0


def test_missing_slices_and_repeated_positions_are_noted() -> None:
    series = make_series("2.25.5", 5, 6)
    del series["Instances"]["2.25.5.3"]  # a gap of 5 mm among 2.5 mm steps
    series["Instances"]["2.25.5.77"] = make_instance("2.25.5.77", 77, 0.0)  # same position as slice 0
    entry = summarize(document_of(("2.25.5", series))).series[0]
    assert entry.spacing_between_slices == pytest.approx(2.5)
    assert entry.note is not None
    assert "uneven slice spacing (2.5–5 mm)" in entry.note
    assert "1 instances repeat a slice position" in entry.note


def test_sagittal_series_is_named_and_measured_along_its_normal() -> None:
    series = make_series("2.25.5", 5, 4)
    series["Instances"] = {
        f"2.25.5.{i}": make_instance(f"2.25.5.{i}", i + 1, i * 3.0, orientation=SAGITTAL) for i in range(4)
    }
    entry = summarize(document_of(("2.25.5", series))).series[0]
    assert entry.plane == "sagittal"
    assert entry.spacing_between_slices == pytest.approx(3.0)


def test_summary_over_budget_keeps_whole_leading_series_and_counts_the_rest() -> None:
    series = {f"2.25.{n}": make_series(f"2.25.{n}", n, 1, description=f"SERIES {n}") for n in range(1, 201)}
    doc = ImageSetDocument.from_json(make_document(series))
    summary = summarize(doc, budget_chars=2000)
    assert summary.truncated is True
    assert summary.omitted_series > 0
    assert len(summary.series) + summary.omitted_series == summary.series_count == 200
    assert [s.number for s in summary.series] == list(range(1, len(summary.series) + 1))
    assert json_length(summary) <= 2000
    bigger = summarize(doc, budget_chars=4000)
    assert len(bigger.series) > len(summary.series)
    assert json_length(bigger) <= 4000


def test_summary_of_a_thousand_instances_is_fast_and_small() -> None:
    doc = document_of(*((f"2.25.{n}", make_series(f"2.25.{n}", n, 250)) for n in range(1, 5)))
    started = time.perf_counter()
    summary = summarize(doc)
    elapsed = time.perf_counter() - started
    assert summary.instance_count == 1000
    assert json_length(summary) < 8000
    assert elapsed < 1.0  # ~15 ms on the development machine; generous for slow CI


# --- series detail -------------------------------------------------------------------------------------


def test_series_pages_reach_the_end_without_gaps_or_duplicates() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 23)))
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        page = series_detail(doc, "2.25.5", offset=offset, limit=5)
        assert page.total == 23 and page.offset == offset and page.returned == len(page.instances)
        seen += [row.sop_instance_uid for row in page.instances]
        offset = page.next_offset
        pages += 1
    assert pages == 5
    assert seen == [f"2.25.5.{i}" for i in range(23)]  # display order: InstanceNumber 1..23
    last = series_detail(doc, "2.25.5", offset=20, limit=5)
    assert (last.returned, last.next_offset, last.truncated) == (3, None, False)


def test_series_rows_carry_position_numbers_and_frame_ids() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 3)))
    row = series_detail(doc, "2.25.5").instances[1]
    assert (row.instance_number, row.slice_index, row.acquisition_number) == (2, 1, 1)
    assert row.image_position == [-180.0, -180.0, -2.5]
    assert row.slice_location == -2.5
    assert row.frame_ids == [doc.series[0].instances[1].frames[0].id]


def test_budget_stops_a_page_early_and_the_next_offset_continues_it() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 40)))
    first = series_detail(doc, "2.25.5", limit=50, budget_chars=2500)
    assert first.truncated is True
    assert 0 < first.returned < 40
    assert first.next_offset == first.returned
    assert json_length(first) <= 2500
    seen = [row.sop_instance_uid for row in first.instances]
    offset: int | None = first.next_offset
    while offset is not None:
        page = series_detail(doc, "2.25.5", offset=offset, limit=50, budget_chars=2500)
        assert json_length(page) <= 2500
        seen += [row.sop_instance_uid for row in page.instances]
        offset = page.next_offset
    assert seen == [f"2.25.5.{i}" for i in range(40)]


def test_multi_frame_instances_list_a_few_frame_ids_and_shift_slice_indexes() -> None:
    series = make_series("2.25.5", 5, 0)
    series["Instances"] = {
        "2.25.5.1": make_instance("2.25.5.1", 1, 0.0, frames=40),
        "2.25.5.2": make_instance("2.25.5.2", 2, -2.5),
    }
    rows = series_detail(document_of(("2.25.5", series)), "2.25.5").instances
    assert (rows[0].frame_count, len(rows[0].frame_ids)) == (40, 4)
    assert (rows[1].slice_index, rows[1].frame_count, len(rows[1].frame_ids)) == (40, 1, 1)


def test_requested_keywords_come_from_any_level_by_keyword_or_hex_tag() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 2)))
    page = series_detail(doc, "2.25.5", keywords=["BitsAllocated", "00080060", "(0028,0030)", "NoSuchKeyword"])
    attributes = page.instances[0].attributes
    assert attributes == {"BitsAllocated": 16, "Modality": "CT", "PixelSpacing": ["0.7", "0.7"]}
    assert page.unknown_keywords == ["NoSuchKeyword"]


def test_unknown_series_error_lists_the_valid_series() -> None:
    series = {f"2.25.{n}": make_series(f"2.25.{n}", n, 1, description=f"PHASE {n}") for n in range(1, 13)}
    doc = ImageSetDocument.from_json(make_document(series))
    with pytest.raises(ViewError) as caught:
        series_detail(doc, "1.2.3")
    message = str(caught.value)
    assert "'1.2.3'" in message
    assert "2.25.1 (CT, PHASE 1)" in message and "2.25.10 (CT, PHASE 10)" in message
    assert "2.25.11" not in message and "and 2 more" in message
    assert isinstance(caught.value, ValueError)


def test_paging_arguments_are_validated() -> None:
    doc = document_of(("2.25.5", make_series("2.25.5", 5, 2)))
    with pytest.raises(ViewError, match="offset"):
        series_detail(doc, "2.25.5", offset=-1)
    with pytest.raises(ViewError, match="limit"):
        series_detail(doc, "2.25.5", limit=0)
