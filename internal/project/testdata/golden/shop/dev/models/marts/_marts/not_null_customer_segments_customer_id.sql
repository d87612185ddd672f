select "customer_id"
from "main"."customer_segments"
where "customer_id" is null