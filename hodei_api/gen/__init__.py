# Written by scripts/proto.sh: see hodei_api/field_defaults.py.
from hodei_api.field_defaults import keep_field_defaults

keep_field_defaults()
