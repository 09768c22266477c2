"""The enrollment service: support organisations (支援団体) and the households they refer.

Personal data of households lives here and nowhere else; other services know a household by
its id, region, organisation and contact channel.
"""
