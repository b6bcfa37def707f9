"""Similar-case search and the sentence encoder it shares with the tagger."""
