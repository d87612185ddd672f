select "created_at"
from "main"."stg_customers"
where "created_at" is null