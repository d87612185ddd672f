select "country_name"
from "main"."dim_customers"
where "country_name" is null