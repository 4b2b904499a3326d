{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_id') }}
select order_id, customer_id, status, amount, updated_at
from {{ ref('orders') }}
{% if is_incremental() %}
where updated_at >= (select max(updated_at) from {{ this }})
{% endif %}
