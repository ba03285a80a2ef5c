import pytest

from cobro.safety import HeaderInjectionError, header_value, neutralize_formula


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3+cmd|x", "@SUM(A1)",
                                  "\t=1", "＝1"])
def test_formulas_stay_text(text: str) -> None:
    assert neutralize_formula(text).startswith("'")


@pytest.mark.parametrize("text", ["+34 600 000 000", "-12,50", "(555) 123", "Pago factura F-1", ""])
def test_plain_text_unchanged(text: str) -> None:
    assert neutralize_formula(text) == text


def test_header_injection_refused() -> None:
    assert header_value("Recordatorio") == "Recordatorio"
    for bad in ("a\r\nBcc: x@y", "a\nb", "a\u2028b"):
        with pytest.raises(HeaderInjectionError, match="line break"):
            header_value(bad, "subject")
