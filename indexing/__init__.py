"""Offline side of LeiAn: sources -> clean, anonymized case store -> built index directory."""
