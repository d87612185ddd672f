select "ordered_at"
from "main"."fct_orders"
where "ordered_at" is null