select "customer" as unique_field, count(*) as n_records
from "analytics"."customers"
where "customer" is not null
group by "customer"
having count(*) > 1