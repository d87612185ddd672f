select "id"
from "raw"."raw_customers"
where "id" is null