"""The issue taggers and the hand-labelled units they learn from."""
