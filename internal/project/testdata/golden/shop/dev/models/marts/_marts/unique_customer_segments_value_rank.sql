select "value_rank" as unique_field, count(*) as n_records
from "main"."customer_segments"
where "value_rank" is not null
group by "value_rank"
having count(*) > 1