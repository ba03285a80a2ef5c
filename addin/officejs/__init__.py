"""The cobro Office add-in (Excel on Windows, Mac and the web): manifest, runtime page, scripts, icons (issue 10)."""
