// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IConsortium} from "./interfaces/IConsortium.sol";
import {EmptyField, InvalidModulus, UnknownOrg, ZeroAddress} from "./utils/Errors.sol";

/// @title Consortium
/// @notice Registry of the consortium: its member organisations (with their public encryption
/// key and peer endpoint), its auditors, its preprocessing services and the field moduli that
/// sessions may use. Only the admin registers and offboards members and allows moduli.
/// @dev Roles are OpenZeppelin AccessControl roles (ORG_ROLE, AUDITOR_ROLE, SERVICE_ROLE under
/// DEFAULT_ADMIN_ROLE), with AccessControlDefaultAdminRules for the admin: one admin, handed
/// over in two steps (`beginDefaultAdminTransfer`, then `acceptDefaultAdminTransfer` by the new
/// admin once the delay set at deployment has passed). Member roles are granted and revoked
/// only through `registerOrg`/`registerAuditor`/`registerService` and `offboard`, which keep
/// what AccessControl alone would not: an org's key and endpoint, one role per address, and
/// retirement (an offboarded account can never be registered again, so a signature or
/// commitment by it can never be mistaken for a new member's). Allowed moduli are permanent.
contract Consortium is IConsortium, AccessControlDefaultAdminRules {
    struct Org {
        string name;
        bytes32 encryptionKey;
        string endpoint;
    }

    /// @inheritdoc IConsortium
    bytes32 public constant ORG_ROLE = keccak256("ORG_ROLE");
    /// @inheritdoc IConsortium
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    /// @inheritdoc IConsortium
    bytes32 public constant SERVICE_ROLE = keccak256("SERVICE_ROLE");

    /// @inheritdoc IConsortium
    address public sessionManager;

    mapping(address account => Org) private _orgs;
    mapping(address account => bool) private _retired;
    mapping(uint256 modulus => bool) private _allowedModulus;
    address[] private _orgList;

    /// @inheritdoc IConsortium
    uint256 public constant MIN_MODULUS = 2 ** 64;

    modifier onlyAdmin() {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) revert NotAdmin(msg.sender);
        _;
    }

    /// @param adminDelay Seconds between `beginDefaultAdminTransfer` and the earliest
    /// `acceptDefaultAdminTransfer` (OpenZeppelin's default-admin delay); the deployer is admin.
    constructor(uint48 adminDelay) AccessControlDefaultAdminRules(adminDelay, msg.sender) {}

    /// @inheritdoc IConsortium
    function registerOrg(
        address org,
        string calldata name,
        bytes32 encryptionKey,
        string calldata endpoint
    ) external onlyAdmin {
        _checkNewAccount(org);
        if (bytes(name).length == 0) revert EmptyField("name");
        if (encryptionKey == bytes32(0)) revert EmptyField("encryptionKey");
        if (bytes(endpoint).length == 0) revert EmptyField("endpoint");

        _grantRole(ORG_ROLE, org);
        _orgs[org] = Org({name: name, encryptionKey: encryptionKey, endpoint: endpoint});
        _orgList.push(org);
        emit OrgRegistered(org, name, encryptionKey, endpoint);
    }

    /// @inheritdoc IConsortium
    function setSessionManager(address manager) external onlyAdmin {
        if (manager == address(0)) revert ZeroAddress();
        if (sessionManager != address(0)) revert SessionManagerAlreadySet(sessionManager);

        sessionManager = manager;
        emit SessionManagerSet(manager);
    }

    /// @inheritdoc IConsortium
    function registerAuditor(address auditor) external onlyAdmin {
        _checkNewAccount(auditor);

        _grantRole(AUDITOR_ROLE, auditor);
        emit AuditorRegistered(auditor);
    }

    /// @inheritdoc IConsortium
    function registerService(address service, string calldata name) external onlyAdmin {
        _checkNewAccount(service);
        if (bytes(name).length == 0) revert EmptyField("name");

        _grantRole(SERVICE_ROLE, service);
        emit ServiceRegistered(service, name);
    }

    /// @inheritdoc IConsortium
    function offboard(address account) external onlyAdmin {
        bytes32 role = _memberRole(account);
        if (role == bytes32(0)) revert NotAMember(account);

        _retired[account] = true;
        _revokeRole(role, account);
        emit MemberOffboarded(account, role);
    }

    /// @inheritdoc IConsortium
    function rotateEncryptionKey(bytes32 encryptionKey) external {
        if (!hasRole(ORG_ROLE, msg.sender)) revert UnknownOrg(msg.sender);
        if (encryptionKey == bytes32(0)) revert EmptyField("encryptionKey");

        _orgs[msg.sender].encryptionKey = encryptionKey;
        emit OrgKeyRotated(msg.sender, encryptionKey);
    }

    /// @inheritdoc IConsortium
    function setEndpoint(string calldata endpoint) external {
        if (!hasRole(ORG_ROLE, msg.sender)) revert UnknownOrg(msg.sender);
        if (bytes(endpoint).length == 0) revert EmptyField("endpoint");

        _orgs[msg.sender].endpoint = endpoint;
        emit OrgEndpointChanged(msg.sender, endpoint);
    }

    /// @notice Member roles change only through register* and `offboard`; the admin role only
    /// through the two-step transfer (AccessControlDefaultAdminRules).
    function grantRole(bytes32 role, address account) public override {
        if (_isMemberRole(role)) revert MembershipRole(role);
        super.grantRole(role, account);
    }

    /// @notice See `grantRole`: `offboard` revokes a member role.
    function revokeRole(bytes32 role, address account) public override {
        if (_isMemberRole(role)) revert MembershipRole(role);
        super.revokeRole(role, account);
    }

    /// @notice See `grantRole`: a member leaves through the admin's `offboard`.
    function renounceRole(bytes32 role, address account) public override {
        if (_isMemberRole(role)) revert MembershipRole(role);
        super.renounceRole(role, account);
    }

    /// @inheritdoc IConsortium
    function allowModulus(uint256 modulus) external onlyAdmin {
        if (modulus % 2 == 0 || modulus < MIN_MODULUS) revert InvalidModulus(modulus);
        if (_allowedModulus[modulus]) revert ModulusAlreadyAllowed(modulus);

        _allowedModulus[modulus] = true;
        emit ModulusAllowed(modulus);
    }

    /// @inheritdoc IConsortium
    function admin() external view returns (address) {
        return defaultAdmin();
    }

    /// @inheritdoc IConsortium
    function isOrg(address account) external view returns (bool) {
        return hasRole(ORG_ROLE, account);
    }

    /// @inheritdoc IConsortium
    function isAuditor(address account) external view returns (bool) {
        return hasRole(AUDITOR_ROLE, account);
    }

    /// @inheritdoc IConsortium
    function isService(address account) external view returns (bool) {
        return hasRole(SERVICE_ROLE, account);
    }

    /// @inheritdoc IConsortium
    function isRetired(address account) external view returns (bool) {
        return _retired[account];
    }

    /// @inheritdoc IConsortium
    function isAllowedModulus(uint256 modulus) external view returns (bool) {
        return _allowedModulus[modulus];
    }

    /// @inheritdoc IConsortium
    function orgInfo(
        address org
    ) external view returns (string memory name, bytes32 encryptionKey, string memory endpoint) {
        Org storage o = _orgs[org];
        if (bytes(o.name).length == 0) revert UnknownOrg(org);
        return (o.name, o.encryptionKey, o.endpoint);
    }

    /// @inheritdoc IConsortium
    function orgCount() external view returns (uint256) {
        return _orgList.length;
    }

    /// @inheritdoc IConsortium
    function orgAt(uint256 i) external view returns (address) {
        if (i >= _orgList.length) revert IndexOutOfRange(i, _orgList.length);
        return _orgList[i];
    }

    /// @dev Reverts unless `account` is nonzero, holds no role (one role per address) and was
    /// never offboarded.
    function _checkNewAccount(address account) private view {
        if (account == address(0)) revert ZeroAddress();
        if (_memberRole(account) != bytes32(0) || _retired[account]) {
            revert AlreadyRegistered(account);
        }
    }

    /// @dev The member role `account` holds, or zero.
    function _memberRole(address account) private view returns (bytes32) {
        if (hasRole(ORG_ROLE, account)) return ORG_ROLE;
        if (hasRole(AUDITOR_ROLE, account)) return AUDITOR_ROLE;
        if (hasRole(SERVICE_ROLE, account)) return SERVICE_ROLE;
        return bytes32(0);
    }

    function _isMemberRole(bytes32 role) private pure returns (bool) {
        return role == ORG_ROLE || role == AUDITOR_ROLE || role == SERVICE_ROLE;
    }
}
