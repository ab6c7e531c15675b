"""Never finishes importing (tradewind DAG file)."""

while True:
    pass
