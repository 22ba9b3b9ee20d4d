"""Platform administration forms."""

from flask_babel import lazy_gettext as _l
from wtforms.fields import BooleanField, SearchField

from app.core.forms import SafeForm, max_length


class UserSearchForm(SafeForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    q = SearchField(_l("Search by name or e-mail"), validators=[max_length(100)])


class UserRolesForm(SafeForm):
    is_platform_admin = BooleanField(_l("Platform admin"))
    is_adviser = BooleanField(_l("Career adviser"))
