select "country_code"
from "main"."stg_customers"
where "country_code" is null