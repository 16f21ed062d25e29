"""rasa-sdk actions for the resident dialogue: the report form, filing, status questions, ratings.

Run with ``python -m rasa_sdk --actions actions`` (rasa-sdk 3.21, served to Rasa 3.6.21 over HTTP).
Every action is built by the executor with no arguments; its dependencies (database, domain) are an
optional constructor argument with a lazy default, created on first use in the action server process.
"""
