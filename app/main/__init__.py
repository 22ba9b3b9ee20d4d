"""Home page, health check and language switcher."""

from flask import Blueprint

bp = Blueprint("main", __name__)
