// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IConsortium} from "./interfaces/IConsortium.sol";
import {EmptyField, InvalidModulus, UnknownOrg, ZeroAddress} from "./utils/Errors.sol";

/// @title Consortium
/// @notice Registry of the consortium: its member organisations (with their public encryption
/// key and peer endpoint), its auditors, its preprocessing services and the field moduli that
/// sessions may use. Only the admin, the deployer, registers members and allows moduli.
/// @dev An address holds at most one role: org, auditor or preprocessing service (or none);
/// registrations and allowed moduli are permanent.
contract Consortium is IConsortium {
    struct Org {
        string name;
        bytes32 encryptionKey;
        string endpoint;
    }

    /// @inheritdoc IConsortium
    address public immutable admin;

    /// @inheritdoc IConsortium
    address public sessionManager;

    mapping(address account => Org) private _orgs;
    mapping(address account => bool) private _isOrg;
    mapping(address account => bool) private _isAuditor;
    mapping(address account => bool) private _isService;
    mapping(uint256 modulus => bool) private _allowedModulus;
    address[] private _orgList;

    /// @inheritdoc IConsortium
    uint256 public constant MIN_MODULUS = 2 ** 64;

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    constructor() {
        admin = msg.sender;
    }

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

        _isOrg[org] = true;
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

        _isAuditor[auditor] = true;
        emit AuditorRegistered(auditor);
    }

    /// @inheritdoc IConsortium
    function registerService(address service, string calldata name) external onlyAdmin {
        _checkNewAccount(service);
        if (bytes(name).length == 0) revert EmptyField("name");

        _isService[service] = true;
        emit ServiceRegistered(service, name);
    }

    /// @inheritdoc IConsortium
    function allowModulus(uint256 modulus) external onlyAdmin {
        if (modulus % 2 == 0 || modulus < MIN_MODULUS) revert InvalidModulus(modulus);
        if (_allowedModulus[modulus]) revert ModulusAlreadyAllowed(modulus);

        _allowedModulus[modulus] = true;
        emit ModulusAllowed(modulus);
    }

    /// @inheritdoc IConsortium
    function isOrg(address account) external view returns (bool) {
        return _isOrg[account];
    }

    /// @inheritdoc IConsortium
    function isAuditor(address account) external view returns (bool) {
        return _isAuditor[account];
    }

    /// @inheritdoc IConsortium
    function isService(address account) external view returns (bool) {
        return _isService[account];
    }

    /// @inheritdoc IConsortium
    function isAllowedModulus(uint256 modulus) external view returns (bool) {
        return _allowedModulus[modulus];
    }

    /// @inheritdoc IConsortium
    function orgInfo(
        address org
    ) external view returns (string memory name, bytes32 encryptionKey, string memory endpoint) {
        if (!_isOrg[org]) revert UnknownOrg(org);
        Org storage o = _orgs[org];
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

    /// @dev Reverts unless `account` is nonzero and holds no role yet (one role per address).
    function _checkNewAccount(address account) private view {
        if (account == address(0)) revert ZeroAddress();
        if (_isOrg[account] || _isAuditor[account] || _isService[account]) {
            revert AlreadyRegistered(account);
        }
    }
}
