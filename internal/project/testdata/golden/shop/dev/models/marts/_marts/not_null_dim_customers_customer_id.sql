select "customer_id"
from "main"."dim_customers"
where "customer_id" is null