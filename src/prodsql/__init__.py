"""prodsql: an audited SQL shell for production PostgreSQL."""

__version__ = "0.1.0.dev0"
