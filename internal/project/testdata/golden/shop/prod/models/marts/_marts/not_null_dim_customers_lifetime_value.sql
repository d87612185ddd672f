select "lifetime_value"
from "main"."dim_customers"
where "lifetime_value" is null