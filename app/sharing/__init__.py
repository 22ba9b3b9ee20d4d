"""Sharing a portfolio with a career adviser or through a link: expiring, revocable, logged."""

import logging

from flask import Blueprint

bp = Blueprint("sharing", __name__)
logger = logging.getLogger("acquis.sharing")
