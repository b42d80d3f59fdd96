"""Real documents for the tests, made by real writers: a PDF with text pages and a scanned
(image-only) page (fpdf2 + Pillow), a Word file (python-docx), HTML and Markdown."""

from __future__ import annotations

from pathlib import Path

PDF_PAGES = [
    "The Lighthouse Keeper's Manual. Chapter one describes the daily routine: the lamp is lit at dusk "
    "and the wick trimmed at midnight.",
    "Chapter two covers storms. During a gale the keeper must sound the fog horn every thirty seconds "
    "and log the wind speed in the register.",
]
DOCX_PARAGRAPHS = [
    "Tenancy agreement",
    "The tenant shall pay the rent of 950 euros on the first day of each month.",
    "The deposit of two months' rent is returned within thirty days after the tenancy ends.",
    "Pets are allowed only with the written consent of the landlord.",
]
HTML = """<!doctype html><html><head><title>Orchard notes</title><style>p {color: red}</style>
<script>var secret = "not text";</script></head><body>
<h1>Orchard notes</h1>
<p>Apple trees are pruned in late winter, before the buds break.</p>
<p>Pear trees need a pollination partner that flowers at the same time.</p>
</body></html>
"""
MARKDOWN = """# Sourdough

Feed the starter with equal weights of flour and water.

## Baking

Bake the loaf at 250 degrees for twenty minutes with the lid on, then twenty more without it.
"""


def make_pdf(path: Path, pages: list[str] = PDF_PAGES, *, scanned_page: bool = True) -> Path:
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    if scanned_page:  # an image of text and no text layer, as a scanner makes
        img = Image.new("RGB", (600, 200), "white")
        ImageDraw.Draw(img).text((20, 80), "Scanned appendix: the keeper's signature", fill="black")
        pdf.add_page()
        pdf.image(img, x=10, y=10, w=180)
    pdf.output(str(path))
    return path


def make_docx(path: Path, paragraphs: list[str] = DOCX_PARAGRAPHS) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(paragraphs[0], level=0)
    for text in paragraphs[1:]:
        d.add_paragraph(text)
    d.save(str(path))
    return path


def make_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    make_pdf(root / "manual.pdf")
    make_docx(root / "lease.docx")
    (root / "orchard.html").write_text(HTML, encoding="utf-8")
    (root / "sourdough.md").write_text(MARKDOWN, encoding="utf-8")
    return root
