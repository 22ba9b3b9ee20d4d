"""The VAE path: a volunteer's project towards an RNCP certification, from the choice of blocs to the jury's
decision, with a companion (career adviser, VAE companion) invited through a share."""

import logging

from flask import Blueprint

bp = Blueprint("vae", __name__, url_prefix="/vae")
logger = logging.getLogger("acquis.vae")
