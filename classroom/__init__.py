"""Class polls: a lecturer opens a room, students answer the projected scene's question from their phones.

``classroom.store`` keeps rooms and answers (SQLite by default, Redis when several server replicas share one).
Nothing in this package imports Streamlit or ``core``; it holds plain data only.
"""
