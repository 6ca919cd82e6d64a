"""Lay out a 类案检索报告 (service.reports) as a Word document: its title and sections, not a word added.

A4 portrait, 宋体 for the text and 黑体 for the headings (the fonts court documents use; Word and WPS
substitute their own when absent), labelled lines ("检索人：…") with the label in bold, tables with
a grid. python-docx is imported here, not at module import, so the CLI's start stays quick.
"""

from __future__ import annotations

import io

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BODY_FONT = "宋体"
HEADING_FONT = "黑体"
LABEL_MAX = 12  # characters before "：" that read as a label


def _east_asian(style, font: str) -> None:  # type: ignore[no-untyped-def]
    from docx.oxml.ns import qn

    style.font.name = font
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), font)


def _paragraph(doc, text: str) -> None:  # type: ignore[no-untyped-def]
    label, sep, rest = text.partition("：")
    paragraph = doc.add_paragraph()
    if sep and 0 < len(label) <= LABEL_MAX:
        paragraph.add_run(label + sep).bold = True
        paragraph.add_run(rest)
    else:
        paragraph.add_run(text)


def _table(doc, table: dict) -> None:  # type: ignore[no-untyped-def]
    from docx.shared import Pt

    grid = doc.add_table(rows=1, cols=len(table["columns"]))
    grid.style = "Table Grid"
    for cell, name in zip(grid.rows[0].cells, table["columns"], strict=True):
        cell.text = ""
        cell.paragraphs[0].add_run(name).bold = True
    for row in table["rows"]:
        for cell, value in zip(grid.add_row().cells, row, strict=True):
            cell.text = value
    for row in grid.rows:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(9)


def render_docx(report: dict) -> bytes:
    """The .docx bytes of a :class:`service.schemas.ReportOut` dict."""
    from datetime import datetime

    from docx import Document
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    _east_asian(doc.styles["Normal"], BODY_FONT)
    doc.styles["Normal"].font.size = Pt(11)
    for name in ("Title", "Heading 1", "Heading 2"):
        _east_asian(doc.styles[name], HEADING_FONT)
    props = doc.core_properties
    props.title, props.author, props.comments = report["title"], "LeiAn", report["platform"]
    props.created = datetime.fromisoformat(report["searched_at"])
    doc.add_heading(report["title"], level=0)
    for part in report["sections"]:
        doc.add_heading(part["heading"], level=part["level"])
        for text in part["paragraphs"]:
            _paragraph(doc, text)
        if part.get("table"):
            _table(doc, part["table"])
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()

