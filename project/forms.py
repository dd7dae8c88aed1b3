"""Every form field in the clinic's look: Django's form renderer with our field template."""

from django.forms.renderers import TemplatesSetting


class ClinicFormRenderer(TemplatesSetting):
    """{{ field.as_field_group }} renders templates/forms/field.html (Bootstrap, errors tied to fields)."""

    field_template_name = "forms/field.html"
