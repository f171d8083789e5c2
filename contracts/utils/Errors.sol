// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// Errors both contracts revert with. They are declared once, at file level, so that each has a
// single selector and meaning across the consortium; a contract's ABI lists every one it uses.

/// @notice The zero address was given where an account is required.
error ZeroAddress();

/// @notice The address is not a registered org.
error UnknownOrg(address org);

/// @notice The modulus cannot be a field prime the contract accepts: the registry needs it odd
/// and at least `MIN_MODULUS`, the session manager odd and at least 3.
error InvalidModulus(uint256 modulus);

/// @notice A required field is empty (an empty string, or a zero key, hash or claim).
error EmptyField(string field);
