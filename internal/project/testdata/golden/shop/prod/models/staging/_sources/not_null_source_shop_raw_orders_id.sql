select "id"
from "raw"."raw_orders"
where "id" is null