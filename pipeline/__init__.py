"""ofsted-nlp: Ofsted inspection letters become grounded, structured records."""

__version__ = "0.1.0"
