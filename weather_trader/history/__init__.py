"""Recorded history into the archive: file readers (``importers``), the all-or-nothing
database writer (``loader``) and converters of third-party files (``convert``)."""
