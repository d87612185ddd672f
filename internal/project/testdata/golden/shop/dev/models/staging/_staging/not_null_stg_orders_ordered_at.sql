select "ordered_at"
from "main"."stg_orders"
where "ordered_at" is null