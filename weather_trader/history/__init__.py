"""Historical data into the archive: file importers (``importers``), the database writer
(``loader``) and, from helper H2, converters of third-party files (``convert``)."""
