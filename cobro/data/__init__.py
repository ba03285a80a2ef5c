"""Reference data shipped with cobro (as Python modules: no file is read at run time)."""
