"""Document readers, one module per document type, and the rules they share.

``letter`` (HMI letters), ``inspection`` (section 5 reports), ``casestudy`` and
``laplan`` each turn one document's text into rows with offsets; ``doctype``
decides which reader a document gets, ``units`` cuts text into units,
``support`` names external support and ``reference`` reads the reference files.
"""
