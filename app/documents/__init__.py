"""Documents people can trust: signed, verifiable PDF/A dossiers, attestations, VAE dossiers and opinions."""

import logging

from flask import Blueprint

bp = Blueprint("documents", __name__)
logger = logging.getLogger(__name__)
