select "email"
from "main"."stg_customers"
where "email" is null