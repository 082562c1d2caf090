// Codecs for the Nexmark event kinds, for queries that keep them in state (a bid waiting for
// its auction, the top bids of a window). Records travel between operators as plain values;
// only state is encoded.
#pragma once

#include <weir/codec.h>

#include "nexmark_event.h"

template <>
struct weir::Codec<weir::nexmark::Person>
    : weir::FieldsCodec<weir::nexmark::Person, &weir::nexmark::Person::id,
                        &weir::nexmark::Person::name, &weir::nexmark::Person::email_address,
                        &weir::nexmark::Person::credit_card, &weir::nexmark::Person::city,
                        &weir::nexmark::Person::state, &weir::nexmark::Person::date_time,
                        &weir::nexmark::Person::extra> {};

template <>
struct weir::Codec<weir::nexmark::Auction>
    : weir::FieldsCodec<weir::nexmark::Auction, &weir::nexmark::Auction::id,
                        &weir::nexmark::Auction::item_name, &weir::nexmark::Auction::description,
                        &weir::nexmark::Auction::initial_bid, &weir::nexmark::Auction::reserve,
                        &weir::nexmark::Auction::date_time, &weir::nexmark::Auction::expires,
                        &weir::nexmark::Auction::seller, &weir::nexmark::Auction::category,
                        &weir::nexmark::Auction::extra> {};

template <>
struct weir::Codec<weir::nexmark::Bid>
    : weir::FieldsCodec<weir::nexmark::Bid, &weir::nexmark::Bid::auction,
                        &weir::nexmark::Bid::bidder, &weir::nexmark::Bid::price,
                        &weir::nexmark::Bid::channel, &weir::nexmark::Bid::url,
                        &weir::nexmark::Bid::date_time, &weir::nexmark::Bid::extra> {};
