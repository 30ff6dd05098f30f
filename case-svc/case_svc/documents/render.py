"""A document's parts laid out as an A4 PDF (fpdf2), set in the machine's CJK font (fonts.py): the issuing
authority, the title, the number (文号), the addressee, the text or the form's rows, the authority and
date at the foot."""

from __future__ import annotations

from datetime import date

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from case_svc.documents.content import Document
from case_svc.documents.fonts import DocumentFont

FAMILY = "cjk"
LINE = 8  # mm per line of 12-point text
INDENT = 8.5  # two characters of 12-point text
RED = (200, 16, 16)


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def pdf(document: Document, font: DocumentFont) -> bytes:
    out = FPDF(format="A4")
    out.set_title(f"{document.title} {document.number}")
    out.set_creator("case-svc")
    out.set_margins(25, 25, 25)
    out.set_auto_page_break(auto=True, margin=25)
    out.add_font(FAMILY, "", str(font.regular.path), collection_font_number=font.regular.index)
    bold = ""
    if font.bold is not None:
        out.add_font(FAMILY, "B", str(font.bold.path), collection_font_number=font.bold.index)
        bold = "B"
    out.add_page()
    width = out.epw

    out.set_font(FAMILY, bold, 20)
    out.set_text_color(*RED)
    out.cell(width, 12, document.authority, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    out.set_text_color(0, 0, 0)
    out.set_font(FAMILY, bold, 18)
    out.cell(width, 12, document.title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    out.set_font(FAMILY, "", 12)
    out.cell(width, 9, document.number, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    out.set_draw_color(*RED)
    out.line(out.l_margin, out.get_y() + 1, out.l_margin + width, out.get_y() + 1)
    out.ln(6)

    out.set_font(FAMILY, "", 12)
    if document.addressee:
        out.multi_cell(width, LINE, document.addressee, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for paragraph in document.paragraphs:
        # First-line indent of two characters; the text flows on from the left margin (write() breaks CJK
        # text anywhere, where multi_cell would break after leading spaces).
        out.set_x(out.l_margin + INDENT)
        out.write(LINE, paragraph)
        out.ln(LINE + 1)
    if document.rows:
        out.set_draw_color(0, 0, 0)
        with out.table(col_widths=(45, width - 45), first_row_as_headings=False, line_height=LINE + 2) as table:
            for label, value in document.rows:
                row = table.row()
                row.cell(label, align=Align.C)
                row.cell(value)

    out.ln(12)
    out.cell(width, 8, document.authority, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    out.cell(width, 8, _chinese_date(document.dated), align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(out.output())
