select id
from t
{% if var('only_recent', false) %}
where ordered_at > current_date - 7
{% for x in [1] %}{% endfor %}
